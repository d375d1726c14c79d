package ca

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// Inspect prints a certificate file's ID, serial, subject, issuer, validity
// and SPKI pin, then every X509-SVID rule with pass or FAIL. It returns an
// error when any rule fails or the certificate is outside its validity
// (the CLI exits 1).
func Inspect(w io.Writer, certFile string) error {
	leaf, chain, err := readCert(certFile)
	if err != nil {
		return err
	}
	now := time.Now()
	id := "(none)"
	if len(leaf.URIs) > 0 {
		id = leaf.URIs[0].String()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID:\t%s\n", id)
	fmt.Fprintf(tw, "Serial:\t%s\n", leaf.SerialNumber.Text(16))
	fmt.Fprintf(tw, "Subject:\t%s\n", orEmpty(leaf.Subject.String()))
	fmt.Fprintf(tw, "Issuer:\t%s\n", orEmpty(leaf.Issuer.String()))
	fmt.Fprintf(tw, "Not before:\t%s\n", leaf.NotBefore.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "Not after:\t%s\n", leaf.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "SPKI pin:\t%s\n", identity.Pin(leaf))
	fmt.Fprintf(tw, "Chain:\t%d certificate(s) in the file\n", len(chain))
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("ca: write: %w", err)
	}
	fmt.Fprintln(w, "X509-SVID rules:")
	failed := 0
	var first string
	report := func(name string, ok bool, detail string) {
		if ok {
			fmt.Fprintf(w, "  pass  %s\n", name)
			return
		}
		failed++
		if first == "" {
			first = name
		}
		fmt.Fprintf(w, "  FAIL  %s: %s\n", name, detail)
	}
	for _, r := range identity.CheckSVIDRules(leaf) {
		report(r.Name, r.Passed, fmt.Sprintf("%s (%s)", r.Detail, r.Reason))
	}
	switch {
	case now.Before(leaf.NotBefore):
		report("inside validity period", false, "not valid before "+leaf.NotBefore.UTC().Format(time.RFC3339)+" ("+string(identity.ReasonNotYetValid)+")")
	case now.After(leaf.NotAfter):
		report("inside validity period", false, "expired at "+leaf.NotAfter.UTC().Format(time.RFC3339)+" ("+string(identity.ReasonExpired)+")")
	default:
		report("inside validity period", true, "")
	}
	if failed > 0 {
		return fmt.Errorf("ca: certificate file %q breaks %d X509-SVID rule(s), first %q", certFile, failed, first)
	}
	return nil
}

func orEmpty(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}
