package agent

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ztunnel-dev/ztunnel/discovery"
	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/tunnel"
)

// metrics implements tunnel.Metrics with Prometheus on a registry of the
// agent's own (never the global one, so several agents in one test process
// do not collide). Every label value is a workload ID, a rule name, a reason
// or a fixed word: never a client address or port.
type metrics struct {
	reg *prometheus.Registry

	handshakes    *prometheus.CounterVec
	handshakeTime *prometheus.HistogramVec
	streams       *prometheus.CounterVec
	streamsActive *prometheus.GaugeVec
	tunnelsActive *prometheus.GaugeVec
	bytes         *prometheus.CounterVec
	decisions     *prometheus.CounterVec
	reloads       *prometheus.CounterVec
	refused       *prometheus.CounterVec
}

func newMetrics(a *Agent) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ztunnel_handshakes_total",
			Help: "TLS handshakes on tunnels, by direction, result and rejection reason.",
		}, []string{"direction", "result", "reason"}),
		handshakeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ztunnel_handshake_duration_seconds",
			Help:    "Duration of tunnel handshakes (outbound includes the tunnel confirmation).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"direction"}),
		streams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ztunnel_streams_total",
			Help: "Streams by direction, source and target workload, and result (ok, denied, failed).",
		}, []string{"direction", "source", "target", "result"}),
		streamsActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ztunnel_streams_active",
			Help: "Open streams by direction.",
		}, []string{"direction"}),
		tunnelsActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ztunnel_tunnels_active",
			Help: "Open tunnels (mutual-TLS sessions) by direction.",
		}, []string{"direction"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ztunnel_bytes_total",
			Help: "Bytes carried, by direction (outbound: from the local app into the tunnel; inbound: out of the tunnel), source and target.",
		}, []string{"direction", "source", "target"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ztunnel_policy_decisions_total",
			Help: "Policy decisions by decision (allow, deny) and the rule that made it.",
		}, []string{"decision", "rule"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ztunnel_reloads_total",
			Help: "Reloads by trigger (signal, api, file) and result (ok, failed).",
		}, []string{"source", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ztunnel_upstream_refused_total",
			Help: "Local connections refused by an upstream listener at its connection limit.",
		}, []string{"source", "upstream"}),
	}
	m.reg.MustRegister(m.handshakes, m.handshakeTime, m.streams, m.streamsActive, m.tunnelsActive,
		m.bytes, m.decisions, m.reloads, m.refused,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{a: a},
	)
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ztunnel_build_info", Help: "Always 1; the version label says which build runs.",
	}, []string{"version"})
	buildInfo.WithLabelValues(a.opts.Version).Set(1)
	m.reg.MustRegister(buildInfo)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) Handshake(direction, result string, reason identity.Reason, d time.Duration) {
	m.handshakes.WithLabelValues(direction, result, string(reason)).Inc()
	if result != tunnel.ResultOverloaded { // refused before any handshake began
		m.handshakeTime.WithLabelValues(direction).Observe(d.Seconds())
	}
}

func (m *metrics) Stream(direction, source, target, result string) {
	m.streams.WithLabelValues(direction, source, target, result).Inc()
}

func (m *metrics) ActiveStreams(direction string, delta int) {
	m.streamsActive.WithLabelValues(direction).Add(float64(delta))
}

func (m *metrics) ActiveTunnels(direction string, delta int) {
	m.tunnelsActive.WithLabelValues(direction).Add(float64(delta))
}

// StreamBytes resolves the labels once per stream; each read then costs an
// atomic add, not a label hash and map lookup.
func (m *metrics) StreamBytes(direction, source, target string) func(int) {
	c := m.bytes.WithLabelValues(direction, source, target)
	return func(n int) { c.Add(float64(n)) }
}

func (m *metrics) PolicyDecision(decision, rule string) {
	m.decisions.WithLabelValues(decision, rule).Inc()
}

func (m *metrics) UpstreamRefused(source, upstream string) {
	m.refused.WithLabelValues(source, upstream).Inc()
}

func (m *metrics) reload(source string, err error) {
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.reloads.WithLabelValues(source, result).Inc()
}

// stateCollector reports values read from the agent's state at scrape
// time: certificate expiry per workload and gossip members per state.
type stateCollector struct{ a *Agent }

var (
	certExpiryDesc = prometheus.NewDesc("ztunnel_cert_expiry_seconds",
		"Seconds until the workload's certificate expires (negative once expired).", []string{"workload"}, nil)
	membersDesc = prometheus.NewDesc("ztunnel_gossip_members",
		"Gossip members by state.", []string{"state"}, nil)
	gossipMsgDesc = prometheus.NewDesc("ztunnel_gossip_messages_total",
		"Discovery messages by kind: received, sent, push_pull, pull_sent, pull_served, decode_error, unknown_version, send_dropped.", []string{"kind"}, nil)
	gossipCatalogDesc = prometheus.NewDesc("ztunnel_gossip_workloads",
		"Distinct workload IDs that resolve through gossip.", nil, nil)
	nextRenewalDesc = prometheus.NewDesc("ztunnel_enroll_next_renewal_seconds",
		"Seconds until an enrolled workload's next certificate renewal.", []string{"workload"}, nil)
	reachableDesc = prometheus.NewDesc("ztunnel_enroll_server_reachable",
		"1 when the CA server answered the workload's last request.", []string{"workload"}, nil)
	renewalsDesc = prometheus.NewDesc("ztunnel_enroll_renewals_total",
		"Certificate renewals of enrolled workloads by result (ok, error).", []string{"workload", "result"}, nil)
	crlStaleDesc = prometheus.NewDesc("ztunnel_crl_stale",
		"1 when the CRL file in force is past its NextUpdate or none could be loaded (revocation unknown for its issuer).", []string{"file"}, nil)
	crlErrorDesc = prometheus.NewDesc("ztunnel_crl_load_error",
		"1 when the last load of the CRL file failed (the previous one stays in force).", []string{"file"}, nil)
	unknownAcceptsDesc = prometheus.NewDesc("ztunnel_revocation_unknown_accepts_total",
		"Peer certificates accepted under revocation = fail_open although their CRL was stale or missing.", nil, nil)
	readyDesc = prometheus.NewDesc("ztunnel_ready",
		"1 when the agent is ready (listeners up, every workload holding a valid certificate).", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- certExpiryDesc
	ch <- membersDesc
	ch <- gossipMsgDesc
	ch <- gossipCatalogDesc
	ch <- nextRenewalDesc
	ch <- reachableDesc
	ch <- renewalsDesc
	ch <- crlStaleDesc
	ch <- crlErrorDesc
	ch <- unknownAcceptsDesc
	ch <- readyDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	if store := c.a.store.Load(); store != nil {
		for _, w := range c.a.cfg.Load().Workloads {
			if cert := store.Current(w.ID); cert != nil {
				ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, cert.NotAfter.Sub(now).Seconds(), w.ID)
			}
		}
		st := store.Status()
		for _, crl := range st.CRLs {
			ch <- prometheus.MustNewConstMetric(crlStaleDesc, prometheus.GaugeValue, boolValue(crl.Stale || !crl.Loaded), crl.File)
			ch <- prometheus.MustNewConstMetric(crlErrorDesc, prometheus.GaugeValue, boolValue(crl.LastError != ""), crl.File)
		}
		ch <- prometheus.MustNewConstMetric(unknownAcceptsDesc, prometheus.CounterValue, float64(st.RevocationUnknownAccepts))
	}
	if c.a.gossip != nil {
		counts := map[string]int{discovery.StateAlive: 0, discovery.StateSuspect: 0, discovery.StateDead: 0, discovery.StateLeft: 0}
		for _, m := range c.a.gossip.Members() {
			counts[m.State]++
		}
		for state, n := range counts {
			ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(n), state)
		}
		st := c.a.gossip.Stats()
		for kind, n := range map[string]uint64{
			"received": st.MessagesReceived, "sent": st.MessagesSent, "push_pull": st.PushPulls,
			"pull_sent": st.PullsSent, "pull_served": st.PullsServed, "decode_error": st.DecodeErrors,
			"unknown_version": st.UnknownVersion, "send_dropped": st.SendsDropped,
		} {
			ch <- prometheus.MustNewConstMetric(gossipMsgDesc, prometheus.CounterValue, float64(n), kind)
		}
		ch <- prometheus.MustNewConstMetric(gossipCatalogDesc, prometheus.GaugeValue, float64(st.Workloads))
	}
	for _, e := range c.a.enrollers {
		st := e.Status()
		id := st.ID
		if !st.NextRenewal.IsZero() {
			ch <- prometheus.MustNewConstMetric(nextRenewalDesc, prometheus.GaugeValue, st.NextRenewal.Sub(now).Seconds(), id)
		}
		reachable := 0.0
		if st.ServerReachable {
			reachable = 1
		}
		ch <- prometheus.MustNewConstMetric(reachableDesc, prometheus.GaugeValue, reachable, id)
		ch <- prometheus.MustNewConstMetric(renewalsDesc, prometheus.CounterValue, float64(st.Renewals), id, "ok")
		ch <- prometheus.MustNewConstMetric(renewalsDesc, prometheus.CounterValue, float64(st.RenewalFailures), id, "error")
	}
	ready := 0.0
	if c.a.Ready() == nil {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, ready)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
