package identity

import "time"

// StoreStatus describes every source of a Store, for /v1/status.
type StoreStatus struct {
	TrustDomain string           `json:"trust_domain"`
	Revocation  string           `json:"revocation"`
	LastReload  time.Time        `json:"last_reload"`
	Bundle      BundleStatus     `json:"bundle"`
	CRLs        []CRLStatus      `json:"crls"`
	Workloads   []WorkloadStatus `json:"workloads"`
	// RevocationUnknownAccepts counts peer certificates accepted under
	// revocation = "fail_open" although a CRL they need was stale or
	// missing.
	RevocationUnknownAccepts uint64 `json:"revocation_unknown_accepts"`
}

// BundleStatus describes the trust bundle in use.
type BundleStatus struct {
	File       string    `json:"file"`
	CASubjects []string  `json:"ca_subjects"`
	LoadedAt   time.Time `json:"loaded_at"`
	LastError  string    `json:"last_error,omitempty"` // of the last reload; the old bundle stays
}

// CRLStatus describes one CRL file. Loaded is false when it never loaded
// (fail_open only).
type CRLStatus struct {
	File       string    `json:"file"`
	Loaded     bool      `json:"loaded"`
	Issuer     string    `json:"issuer,omitempty"`
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	Stale      bool      `json:"stale"`
	Revoked    int       `json:"revoked"`
	LoadedAt   time.Time `json:"loaded_at,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
}

// WorkloadStatus describes one workload's certificate in use.
type WorkloadStatus struct {
	ID        string    `json:"id"`
	CertFile  string    `json:"cert_file"`
	KeyFile   string    `json:"key_file"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Pin       string    `json:"pin"`
	LoadedAt  time.Time `json:"loaded_at"`
	// Revoked: the CRL in force revokes this certificate; it is not
	// presented.
	Revoked   bool   `json:"revoked,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Status describes every source: per workload the certificate in use and
// the last reload error; the bundle with its CA subjects; each CRL with its
// next update and revoked count.
func (s *Store) Status() StoreStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	st := StoreStatus{
		TrustDomain: s.td.Name(),
		Revocation:  s.cfg.Revocation,
		LastReload:  s.lastReload,
		Bundle: BundleStatus{
			File:       s.cfg.BundleFile,
			CASubjects: s.bundle.caSubjects(),
			LoadedAt:   s.bundle.loadedAt,
			LastError:  errString(s.bundleErr),
		},
		CRLs:      make([]CRLStatus, 0, len(s.crls)),
		Workloads: make([]WorkloadStatus, 0, len(s.workloads)),

		RevocationUnknownAccepts: s.unknownAccepts.Load(),
	}
	for i, c := range s.crls {
		cs := CRLStatus{File: s.cfg.CRLFiles[i], LastError: errString(s.crlErrs[i])}
		if c != nil {
			cs.Loaded = true
			cs.Issuer = c.issuer.Subject.String()
			cs.ThisUpdate = c.list.ThisUpdate
			cs.NextUpdate = c.list.NextUpdate
			cs.Stale = c.stale(now)
			cs.Revoked = len(c.revoked)
			cs.LoadedAt = c.loadedAt
		}
		st.CRLs = append(st.CRLs, cs)
	}
	for _, ws := range s.workloads {
		c := ws.cur.Load()
		st.Workloads = append(st.Workloads, WorkloadStatus{
			ID: c.ID, CertFile: ws.cfg.CertFile, KeyFile: ws.cfg.KeyFile,
			Serial: c.Serial, NotBefore: c.NotBefore, NotAfter: c.NotAfter, Pin: c.Pin,
			LoadedAt: c.loadedAt, Revoked: c.Revoked, LastError: errString(ws.lastErr),
		})
	}
	return st
}
