package ca

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeEnrollRequest feeds arbitrary bodies to the request decoder and
// the CSR parser. Property: no panic; a decoded request re-encodes to a body
// that decodes to the same request; a CSR that parses has a P-256 key.
func FuzzDecodeEnrollRequest(f *testing.F) {
	_, csr := testCSR(f, idFront)
	good, _ := json.Marshal(EnrollRequest{Token: tokenPrefix + strings.Repeat("A", 43), CSR: csr})
	for _, s := range []string{string(good), `{}`, `{"token":1}`, `{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}`, `[]`, `{"token":"a"} x`, ``, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req EnrollRequest
		if err := decodeRequest(bytes.NewReader(body), &req); err != nil {
			return
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var back EnrollRequest
		if err := decodeRequest(bytes.NewReader(again), &back); err != nil || !reflect.DeepEqual(back, req) {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, req)
		}
		if _, pub, err := parseCSR(req.CSR); err == nil && pub.Curve.Params().Name != "P-256" {
			t.Fatalf("parseCSR accepted a %s key", pub.Curve.Params().Name)
		}
	})
}

// FuzzParseRecord checks that an issued.log line that parses formats back
// to a line that parses to the same record.
func FuzzParseRecord(f *testing.F) {
	f.Add("2026-11-22T09:00:00Z\tab12\t" + idFront + "\t2026-11-22T10:00:00Z")
	f.Add("x\ty")
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := parseRecord(line)
		if !ok {
			return
		}
		again := strings.Join([]string{r.IssuedAt.Format("2006-01-02T15:04:05.999999999Z07:00"), r.Serial, r.ID, r.NotAfter.Format("2006-01-02T15:04:05.999999999Z07:00")}, "\t")
		back, ok := parseRecord(again)
		if !ok || !back.IssuedAt.Equal(r.IssuedAt) || !back.NotAfter.Equal(r.NotAfter) || back.Serial != r.Serial || back.ID != r.ID {
			t.Fatalf("round trip of %q: %+v, %v", line, back, ok)
		}
	})
}
