package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

func (b *builder) workloads(fws []fileWorkload) []Workload {
	out := make([]Workload, 0, len(fws))
	names := map[string]hcl.Range{}
	ids := map[string]hcl.Range{}
	for _, fw := range fws {
		key := "workload." + fw.Name.Value
		b.unique(names, fw.Name, key, "workload name")
		w := Workload{Name: fw.Name.Value, Upstreams: []Upstream{}, Expose: []Expose{}}
		if b.required(fw.ID, key+".id", fw.Range, "the workload's SPIFFE ID") {
			b.id(fw.ID, key+".id")
			b.unique(ids, fw.ID, key+".id", "workload ID")
			w.ID = fw.ID.Value
		}
		b.certSource(&fw, key, &w)
		w.Upstreams = b.upstreams(fw.Upstreams, key)
		w.Expose = b.expose(fw.Expose, key)
		out = append(out, w)
	}
	return out
}

// certSource fills either Cert and Key or Enroll: a workload has exactly
// one certificate source.
func (b *builder) certSource(fw *fileWorkload, key string, w *Workload) {
	files := fw.Cert.Set || fw.Key.Set
	switch {
	case files && fw.Enroll != nil:
		b.p.add(fw.Enroll.Range, "%s: has both cert/key and an enroll block; use one certificate source", key)
		return
	case !files && fw.Enroll == nil:
		b.p.add(fw.Range, "%s: has no certificate source; set cert and key, or add an enroll block", key)
		return
	case fw.Enroll != nil:
		e := fw.Enroll
		w.Enroll = &Enroll{}
		if b.required(e.Server, key+".enroll.server", e.Range, `host:port of the CA server, like "10.0.0.9:8200"`) {
			w.Enroll.Server = b.dialAddr(e.Server, key+".enroll.server")
		}
		if b.required(e.TokenFile, key+".enroll.token_file", e.Range, "the file holding the one-time join token") {
			// Optional: the token is deleted once it has bought a certificate.
			w.Enroll.TokenFile = b.optionalPath(e.TokenFile, key+".enroll.token_file", "enroll token")
		}
		return
	}
	if b.required(fw.Cert, key+".cert", fw.Range, "the certificate file, given together with key") {
		w.Cert = b.path(fw.Cert, key+".cert", "")
	}
	if b.required(fw.Key, key+".key", fw.Range, "the private key file, given together with cert") {
		w.Key = b.path(fw.Key, key+".key", "private key")
	}
}

func (b *builder) upstreams(fus []fileUpstream, wkey string) []Upstream {
	out := make([]Upstream, 0, len(fus))
	names := map[string]hcl.Range{}
	for _, fu := range fus {
		key := wkey + ".upstream." + fu.Name.Value
		b.unique(names, fu.Name, key, "upstream name in a workload")
		u := Upstream{Name: fu.Name.Value, Pins: []string{}}
		if b.required(fu.Listen, key+".listen", fu.Range, `the local address, like "127.0.0.1:9001"`) {
			u.Listen = b.listen(fu.Listen, key+".listen", "")
		}
		if b.required(fu.Target, key+".target", fu.Range, "the SPIFFE ID of the remote workload") {
			b.id(fu.Target, key+".target")
			u.Target = fu.Target.Value
		}
		if fu.Port.Set {
			if fu.Port.Value < 0 || fu.Port.Value > 65535 {
				b.p.add(fu.Port.Range, "%s.port: %d is out of range; expected 1 to 65535, or 0 for the target's only port", key, fu.Port.Value)
			}
			u.Port = fu.Port.Value
		}
		for i, pin := range fu.Pin.Values {
			if msg := checkPin(pin); msg != "" {
				b.p.add(fu.Pin.Ranges[i], "%s.pin[%d]: %s", key, i, msg)
			}
			u.Pins = append(u.Pins, pin)
		}
		out = append(out, u)
	}
	return out
}

func (b *builder) expose(fes []fileExpose, wkey string) []Expose {
	out := make([]Expose, 0, len(fes))
	ports := map[int]hcl.Range{}
	for _, fe := range fes {
		key := wkey + ".expose"
		e := Expose{}
		if fe.Port.Set {
			e.Port = fe.Port.Value
			switch first, dup := ports[e.Port]; {
			case e.Port < 1 || e.Port > 65535:
				b.p.add(fe.Port.Range, "%s.port: %d is out of range; expected 1 to 65535", key, e.Port)
			case dup:
				b.p.add(fe.Port.Range, "%s.port: %d is already exposed by this workload (line %d); each expose block needs its own port", key, e.Port, first.Start.Line)
			default:
				ports[e.Port] = fe.Port.Range
			}
		} else {
			b.p.add(fe.Range, "%s.port: is required (the port peers ask for, like 8443)", key)
		}
		if b.required(fe.Backend, key+".backend", fe.Range, `the local backend address, like "127.0.0.1:8443"`) {
			e.Backend = b.dialAddr(fe.Backend, key+".backend")
		}
		out = append(out, e)
	}
	return out
}

func (b *builder) peers(fps []filePeer) []Peer {
	out := make([]Peer, 0, len(fps))
	names := map[string]hcl.Range{}
	for _, fp := range fps {
		key := "peer." + fp.Name.Value
		b.unique(names, fp.Name, key, "peer name")
		p := Peer{Name: fp.Name.Value, Workloads: []string{}}
		if b.required(fp.Address, key+".address", fp.Range, `the peer's tunnel address, like "10.0.0.2:15008"`) {
			p.Address = b.dialAddr(fp.Address, key+".address")
		}
		if !fp.Workloads.Set || len(fp.Workloads.Values) == 0 {
			rng := fp.Range
			if fp.Workloads.Set {
				rng = fp.Workloads.Range
			}
			b.p.add(rng, "%s.workloads: must list at least one SPIFFE ID served by the peer", key)
		}
		for i, id := range fp.Workloads.Values {
			b.id(attrString{Value: id, Set: true, Range: fp.Workloads.Ranges[i]}, fmt.Sprintf("%s.workloads[%d]", key, i))
			p.Workloads = append(p.Workloads, id)
		}
		out = append(out, p)
	}
	return out
}

// id checks a SPIFFE ID value against the configured trust domain.
func (b *builder) id(a attrString, key string) {
	if msg := checkID(a.Value, b.td); msg != "" {
		b.p.add(a.Range, "%s: %s", key, msg)
	}
}

// dialAddr checks an address the agent dials and returns its canonical form.
func (b *builder) dialAddr(a attrString, key string) string {
	canon, msg := checkAddr(a.Value, addrDial)
	if msg != "" {
		b.p.add(a.Range, "%s: %s", key, msg)
		return a.Value
	}
	return canon
}

// unique checks a name label (or a value) against those seen before. what
// names the kind of value in the message.
func (b *builder) unique(seen map[string]hcl.Range, a attrString, key, what string) {
	if what != "workload ID" {
		if msg := checkName(a.Value); msg != "" {
			b.p.add(a.Range, "%s: %s", key, msg)
			return
		}
	}
	if first, dup := seen[a.Value]; dup {
		b.p.add(a.Range, "%s: %q is given twice (first at line %d); each %s must be unique", key, a.Value, first.Start.Line, what)
		return
	}
	seen[a.Value] = a.Range
}
