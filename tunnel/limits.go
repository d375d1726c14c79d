package tunnel

// reserveStream takes one of the MaxStreams slots shared by every session
// in both directions; it reports false when none is free. A true result
// must be paired with releaseStream.
func (t *Tunnel) reserveStream() bool {
	if t.streams.Add(1) > int64(t.cfg.MaxStreams) {
		t.streams.Add(-1)
		return false
	}
	return true
}

// releaseStream gives back a slot taken by reserveStream.
func (t *Tunnel) releaseStream() { t.streams.Add(-1) }
