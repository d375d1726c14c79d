package tunnel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/yamux"
)

// resetLinger bounds how long the sender of a RESET keeps its stream open
// waiting for the peer's FIN before it closes the stream itself.
const resetLinger = 5 * time.Second

// openControl opens the session's control stream (client side).
func (t *Tunnel) openControl(s *session) error {
	st, err := s.ym.OpenStream()
	if err != nil {
		return fmt.Errorf("tunnel: open control stream: %w", err)
	}
	hdr, _ := AppendHeader(nil, Header{Version: WireVersion, Flags: FlagControl})
	st.SetDeadline(time.Now().Add(t.cfg.DialTimeout))
	if _, err := st.Write(hdr); err != nil {
		st.Close()
		return fmt.Errorf("tunnel: open control stream: %w", err)
	}
	r, err := ReadReply(st)
	st.SetDeadline(time.Time{})
	if err == nil && r.Code != CodeOK {
		err = &RefusedError{Code: r.Code, Msg: r.Msg}
	}
	if err != nil {
		st.Close()
		return fmt.Errorf("tunnel: open control stream: %w", err)
	}
	s.ctrl.Store(st)
	return nil
}

// serveControl accepts st as s's control stream (server side) and reads it
// until the session ends.
func (t *Tunnel) serveControl(s *session, st *yamux.Stream, h Header) {
	ok := h.Port == 0 && s.ctrl.CompareAndSwap(nil, st)
	code := CodeOK
	if !ok {
		code = CodeBadHeader
	}
	st.SetWriteDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	if _, err := st.Write(AppendReply(nil, Reply{Version: WireVersion, Code: code})); err != nil || !ok {
		t.inLog.Warn("control stream refused", "peer", s.source, "duplicate", !ok, "error", err)
		st.Close()
		return
	}
	st.SetWriteDeadline(time.Time{})
	if s.dataStreams() <= 0 { // only the control stream: idle until a stream comes
		s.idleSince.Store(time.Now().UnixNano())
	}
	t.readControl(s, st)
}

// readControl handles control records until st ends.
func (t *Tunnel) readControl(s *session, st *yamux.Stream) {
	var buf [255]byte
	for {
		typ, val, err := readControl(st, &buf)
		if err != nil {
			if !s.ym.IsClosed() && !errors.Is(err, yamux.ErrSessionShutdown) {
				t.log.Debug("control stream ended", "peer", s.addr, "error", err)
			}
			return
		}
		if typ != ctrlReset || len(val) != 4 {
			continue // unknown record: skipped for forward compatibility
		}
		if ls := s.lookupLive(binary.BigEndian.Uint32(val)); ls != nil {
			ls.endRemote()
		}
	}
}

// sendReset tells the peer that we reset our side of stream id. It reports
// false when the session has no control stream or the write failed.
func (s *session) sendReset(id uint32) bool {
	c := s.ctrl.Load()
	if c == nil {
		return false
	}
	s.ctrlMu.Lock()
	defer s.ctrlMu.Unlock()
	c.SetWriteDeadline(time.Now().Add(time.Second))
	_, err := c.Write(appendReset(nil, id))
	return err == nil
}

func (s *session) addLive(ls *liveStream) {
	s.liveMu.Lock()
	if s.live == nil {
		s.live = map[uint32]*liveStream{}
	}
	s.live[ls.stream.StreamID()] = ls
	s.liveMu.Unlock()
}

func (s *session) removeLive(ls *liveStream) {
	s.liveMu.Lock()
	if s.live[ls.stream.StreamID()] == ls {
		delete(s.live, ls.stream.StreamID())
	}
	s.liveMu.Unlock()
}

func (s *session) lookupLive(id uint32) *liveStream {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	return s.live[id]
}
