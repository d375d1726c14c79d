package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"testing"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// FuzzPEMBlocks: the strict PEM reader never panics, and whatever it accepts
// re-encodes to blocks it reads back identically.
func FuzzPEMBlocks(f *testing.F) {
	ca := identitytest.NewCA(f, testTD)
	l := ca.Issue(f, idFront)
	f.Add(l.CertPEM)
	f.Add(l.KeyPEM)
	f.Add(l.CertPEM[:len(l.CertPEM)/2])
	f.Add(append(append([]byte{}, l.CertPEM...), "junk"...))
	f.Add(ca.CRL(f, l.Cert))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		blocks, err := pemBlocks("file", "f", data)
		if err != nil {
			return
		}
		var again []byte
		for _, b := range blocks {
			again = append(again, pem.EncodeToMemory(b)...)
		}
		back, err := pemBlocks("file", "f", again)
		if err != nil || len(back) != len(blocks) {
			t.Fatalf("re-encoded blocks do not read back: %v", err)
		}
		for i := range blocks {
			if back[i].Type != blocks[i].Type || !bytes.Equal(back[i].Bytes, blocks[i].Bytes) {
				t.Fatalf("block %d differs after a round trip", i)
			}
		}
		// The parsers on top must not panic either.
		_, _ = parseCertsPEM("file", "f", data)
		_, _ = parseKeyPEM("f", data)
	})
}

// FuzzValidatePin: an accepted pin is exactly PinPrefix + the canonical
// base64 of its 32 bytes.
func FuzzValidatePin(f *testing.F) {
	f.Add("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("sha256/")
	f.Add("sha1/abc")
	f.Fuzz(func(t *testing.T, p string) {
		if ValidatePin(p) != nil {
			return
		}
		b, err := base64.StdEncoding.DecodeString(p[len(PinPrefix):])
		if err != nil || len(b) != 32 {
			t.Fatalf("accepted %q: %v, %d bytes", p, err, len(b))
		}
		if got := PinPrefix + base64.StdEncoding.EncodeToString(b); got != p {
			t.Fatalf("accepted non-canonical pin %q (canonical %q)", p, got)
		}
	})
}
