package tunnel

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The per-stream wire format (DESIGN §4). This comment is the specification.
//
// Every yamux stream starts with a Header sent by the dialing agent (the
// client), big-endian:
//
//	u8  version   = 1 (WireVersion)
//	u8  flags     bit 0 = FlagControl (below); other bits reserved: sent as
//	              0, ignored by version-1 receivers
//	u16 port      the target workload's exposed port; 0 = its only port
//	u16 ext_len   length of ext, at most MaxExtLen (1 KiB)
//	ext           ext_len bytes of TLVs: u8 type | u8 len | len bytes.
//	              Version-1 receivers check the TLV framing and ignore every
//	              type, so later versions can add fields without a new version.
//
// The accepting agent answers with a status Reply before any data:
//
//	u8  version   = 1
//	u8  code      one of the Code values below
//	u16 msg_len   length of msg, at most MaxStatusMsgLen (1 KiB)
//	msg           UTF-8 text: the rule name for DENIED; the resolved port in
//	              decimal for OK (so a caller of port 0 learns it); else empty
//
// A receiver that gets a header whose version it does not speak replies
// UNSUPPORTED_VERSION (with its own version in the status) and closes the
// stream without reading further. After an OK status the stream carries raw
// bytes in both directions; after any other status the server closes it.
//
// Control stream. yamux v0.1.2 cannot reset one stream (Close is a
// half-close, indistinguishable from a clean end). So right after the
// tunnel is confirmed the client opens one stream with FlagControl set
// (port 0); the server answers OK, and from then on each end may write
// control records on it: u8 type | u8 len | len bytes of value. Unknown
// types are skipped. Type 1, RESET, value u32 yamux stream ID: "I reset
// my side of this stream". Its sender resets its local conn and does not
// FIN the stream until it sees the receiver's FIN (or 5 s, resetLinger, pass);
// the receiver resets its local conn for that stream and closes it. A
// FIN therefore always means a clean end of writes, and a reset on either
// side reaches the application on the other side as a reset.

// WireVersion is the version of the stream header and status this package speaks.
const WireVersion = 1

// Size limits of the variable parts of the header and the status.
const (
	MaxExtLen       = 1024
	MaxStatusMsgLen = 1024
	headerFixedLen  = 6
	statusFixedLen  = 4
)

// FlagControl marks the session's control stream (see the spec above).
const FlagControl uint8 = 0x01

// Control record types.
const ctrlReset = 1

// appendReset appends a RESET control record for stream id.
func appendReset(b []byte, id uint32) []byte {
	b = append(b, ctrlReset, 4)
	return binary.BigEndian.AppendUint32(b, id)
}

// readControl reads one control record.
func readControl(r io.Reader, buf *[255]byte) (typ uint8, val []byte, err error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	val = buf[:hdr[1]]
	if _, err := io.ReadFull(r, val); err != nil {
		return 0, nil, err
	}
	return hdr[0], val, nil
}

// Header is the first thing a client sends on a stream.
type Header struct {
	Version uint8
	Flags   uint8
	Port    uint16
	Ext     []byte // raw TLVs; nil and empty are equivalent
}

// Code is the status code a server answers a stream header with.
type Code uint8

// The status codes. Their numbers are part of the wire format: never renumber.
const (
	CodeOK                 Code = 0
	CodeDenied             Code = 1 // the receiving agent's policy denied the stream; msg = rule
	CodeNoSuchPort         Code = 2 // the workload exposes no such port (or port 0 is ambiguous)
	CodeBackendUnreachable Code = 3 // the local backend refused or timed out
	CodeBadHeader          Code = 4 // the header could not be parsed
	CodeUnsupportedVersion Code = 5 // the header's version is not spoken here
	CodeOverloaded         Code = 6 // a limit was reached; try another endpoint
	CodeNotServing         Code = 7 // the agent is draining or does not serve the workload
)

var codeNames = [...]string{
	CodeOK:                 "OK",
	CodeDenied:             "DENIED",
	CodeNoSuchPort:         "NO_SUCH_PORT",
	CodeBackendUnreachable: "BACKEND_UNREACHABLE",
	CodeBadHeader:          "BAD_HEADER",
	CodeUnsupportedVersion: "UNSUPPORTED_VERSION",
	CodeOverloaded:         "OVERLOADED",
	CodeNotServing:         "NOT_SERVING",
}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("CODE_%d", uint8(c))
}

// retryable reports whether a client should try the next endpoint after
// this code: the stream failed for a reason of that endpoint, not of the
// request itself.
func (c Code) retryable() bool {
	return c == CodeBackendUnreachable || c == CodeOverloaded || c == CodeNotServing
}

// Reply is a server's status answer to a Header.
type Reply struct {
	Version uint8
	Code    Code
	Msg     string
}

// AppendHeader appends the encoding of h to b. It fails when h.Ext is longer
// than MaxExtLen or is not well-formed TLVs.
func AppendHeader(b []byte, h Header) ([]byte, error) {
	if len(h.Ext) > MaxExtLen {
		return b, fmt.Errorf("%w: extension of %d bytes, limit %d", ErrBadHeader, len(h.Ext), MaxExtLen)
	}
	if err := checkTLVs(h.Ext); err != nil {
		return b, err
	}
	b = append(b, h.Version, h.Flags)
	b = binary.BigEndian.AppendUint16(b, h.Port)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.Ext)))
	return append(b, h.Ext...), nil
}

// ReadHeader reads one Header from r. A version other than WireVersion
// returns ErrUnsupportedVersion (with the header's fixed part filled in)
// and reads nothing past the fixed part; malformed input returns an error
// wrapping ErrBadHeader. It never reads past the header.
func ReadHeader(r io.Reader) (Header, error) {
	var fixed [headerFixedLen]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrBadHeader, err)
	}
	h := Header{Version: fixed[0], Flags: fixed[1], Port: binary.BigEndian.Uint16(fixed[2:4])}
	if h.Version != WireVersion {
		return h, fmt.Errorf("%w: version %d", ErrUnsupportedVersion, h.Version)
	}
	n := int(binary.BigEndian.Uint16(fixed[4:6]))
	if n > MaxExtLen {
		return h, fmt.Errorf("%w: extension of %d bytes, limit %d", ErrBadHeader, n, MaxExtLen)
	}
	if n > 0 {
		h.Ext = make([]byte, n)
		if _, err := io.ReadFull(r, h.Ext); err != nil {
			return h, fmt.Errorf("%w: extension: %w", ErrBadHeader, err)
		}
		if err := checkTLVs(h.Ext); err != nil {
			return h, err
		}
	}
	return h, nil
}

// checkTLVs checks that ext is a sequence of complete u8 type | u8 len |
// value records.
func checkTLVs(ext []byte) error {
	for i := 0; i < len(ext); {
		if i+2 > len(ext) {
			return fmt.Errorf("%w: truncated extension record at byte %d", ErrBadHeader, i)
		}
		end := i + 2 + int(ext[i+1])
		if end > len(ext) {
			return fmt.Errorf("%w: extension record at byte %d overruns by %d bytes", ErrBadHeader, i, end-len(ext))
		}
		i = end
	}
	return nil
}

// AppendReply appends the encoding of s to b. A message longer than
// MaxStatusMsgLen is cut to that length (it is only ever informational).
func AppendReply(b []byte, s Reply) []byte {
	msg := s.Msg
	if len(msg) > MaxStatusMsgLen {
		msg = msg[:MaxStatusMsgLen]
	}
	b = append(b, s.Version, byte(s.Code))
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	return append(b, msg...)
}

// ReadReply reads one Reply from r. Malformed input returns an error
// wrapping ErrBadStatus; a version other than WireVersion returns
// ErrUnsupportedVersion.
func ReadReply(r io.Reader) (Reply, error) {
	var fixed [statusFixedLen]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return Reply{}, fmt.Errorf("%w: %w", ErrBadStatus, err)
	}
	s := Reply{Version: fixed[0], Code: Code(fixed[1])}
	if s.Version != WireVersion {
		return s, fmt.Errorf("%w: status version %d", ErrUnsupportedVersion, s.Version)
	}
	n := int(binary.BigEndian.Uint16(fixed[2:4]))
	if n > MaxStatusMsgLen {
		return s, fmt.Errorf("%w: message of %d bytes, limit %d", ErrBadStatus, n, MaxStatusMsgLen)
	}
	if n > 0 {
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			return s, fmt.Errorf("%w: message: %w", ErrBadStatus, err)
		}
		s.Msg = string(msg)
	}
	return s, nil
}
