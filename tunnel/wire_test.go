package tunnel

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		want    Header
		wantErr string
		is      error
	}{
		{name: "minimal", in: []byte{1, 0, 0x20, 0xfb, 0, 0}, want: Header{Version: 1, Port: 8443}},
		{name: "port zero", in: []byte{1, 0, 0, 0, 0, 0}, want: Header{Version: 1}},
		{name: "flags and ext", in: []byte{1, 7, 0, 80, 0, 5, 9, 3, 'a', 'b', 'c'},
			want: Header{Version: 1, Flags: 7, Port: 80, Ext: []byte{9, 3, 'a', 'b', 'c'}}},
		{name: "empty", in: nil, is: ErrBadHeader, wantErr: "tunnel: bad stream header: EOF"},
		{name: "short", in: []byte{1, 0, 0}, is: ErrBadHeader, wantErr: "tunnel: bad stream header: unexpected EOF"},
		{name: "version 2", in: []byte{2, 0, 0, 80, 0, 0}, is: ErrUnsupportedVersion,
			wantErr: "tunnel: unsupported wire version: version 2"},
		{name: "ext too long", in: []byte{1, 0, 0, 80, 0x04, 0x01}, is: ErrBadHeader,
			wantErr: "tunnel: bad stream header: extension of 1025 bytes, limit 1024"},
		{name: "ext truncated", in: []byte{1, 0, 0, 80, 0, 4, 1, 2}, is: ErrBadHeader,
			wantErr: "tunnel: bad stream header: extension: unexpected EOF"},
		{name: "tlv overrun", in: []byte{1, 0, 0, 80, 0, 3, 1, 5, 0}, is: ErrBadHeader,
			wantErr: "tunnel: bad stream header: extension record at byte 0 overruns by 4 bytes"},
		{name: "tlv cut", in: []byte{1, 0, 0, 80, 0, 3, 1, 0, 9}, is: ErrBadHeader,
			wantErr: "tunnel: bad stream header: truncated extension record at byte 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadHeader(bytes.NewReader(tc.in))
			if tc.is != nil {
				if !errors.Is(err, tc.is) || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q (is %v)", err, tc.wantErr, tc.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tc.want.Version || got.Flags != tc.want.Flags || got.Port != tc.want.Port ||
				!bytes.Equal(got.Ext, tc.want.Ext) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestReadHeaderStopsAtHeader(t *testing.T) {
	r := bytes.NewReader([]byte{1, 0, 0, 80, 0, 2, 1, 0, 'd', 'a', 't', 'a'})
	if _, err := ReadHeader(r); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "data" {
		t.Fatalf("left %q after the header, want %q", rest, "data")
	}
}

func TestAppendHeaderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ext     []byte
		wantErr string
	}{
		{"too long", make([]byte, MaxExtLen+1), "tunnel: bad stream header: extension of 1025 bytes, limit 1024"},
		{"bad tlv", []byte{1}, "tunnel: bad stream header: truncated extension record at byte 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AppendHeader(nil, Header{Version: 1, Ext: tc.ext})
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		want    Reply
		wantErr string
	}{
		{name: "ok", in: []byte{1, 0, 0, 4, '8', '4', '4', '3'}, want: Reply{Version: 1, Code: CodeOK, Msg: "8443"}},
		{name: "denied", in: []byte{1, 1, 0, 2, 'r', '1'}, want: Reply{Version: 1, Code: CodeDenied, Msg: "r1"}},
		{name: "unknown code", in: []byte{1, 200, 0, 0}, want: Reply{Version: 1, Code: 200}},
		{name: "empty", in: nil, wantErr: "tunnel: bad stream status: EOF"},
		{name: "version 9", in: []byte{9, 0, 0, 0}, wantErr: "tunnel: unsupported wire version: status version 9"},
		{name: "msg too long", in: []byte{1, 1, 0x04, 0x01}, wantErr: "tunnel: bad stream status: message of 1025 bytes, limit 1024"},
		{name: "msg truncated", in: []byte{1, 1, 0, 3, 'a'}, wantErr: "tunnel: bad stream status: message: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadReply(bytes.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestAppendReplyCutsLongMessage(t *testing.T) {
	b := AppendReply(nil, Reply{Version: 1, Code: CodeDenied, Msg: strings.Repeat("x", 2000)})
	got, err := ReadReply(bytes.NewReader(b))
	if err != nil || len(got.Msg) != MaxStatusMsgLen {
		t.Fatalf("got %d-byte message, %v; want %d bytes", len(got.Msg), err, MaxStatusMsgLen)
	}
}

func TestCodeString(t *testing.T) {
	for c, want := range map[Code]string{CodeOK: "OK", CodeDenied: "DENIED", CodeNotServing: "NOT_SERVING", 99: "CODE_99"} {
		if got := c.String(); got != want {
			t.Errorf("Code(%d).String() = %q, want %q", uint8(c), got, want)
		}
	}
}

func FuzzHeader(f *testing.F) {
	f.Add([]byte{1, 0, 0x20, 0xfb, 0, 0})
	f.Add([]byte{1, 7, 0, 80, 0, 5, 9, 3, 'a', 'b', 'c'})
	f.Add([]byte{2, 0, 0, 80, 0, 0})
	f.Add([]byte{1, 0, 0, 80, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := ReadHeader(bytes.NewReader(in))
		if err != nil {
			return
		}
		// Round trip: what parsed re-encodes to the same bytes and parses again.
		out, err := AppendHeader(nil, h)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", h, err)
		}
		if !bytes.Equal(out, in[:len(out)]) {
			t.Fatalf("re-encoded %x, input began %x", out, in[:len(out)])
		}
		h2, err := ReadHeader(bytes.NewReader(out))
		if err != nil || h2.Port != h.Port || h2.Flags != h.Flags || !bytes.Equal(h2.Ext, h.Ext) {
			t.Fatalf("round trip %+v -> %+v, %v", h, h2, err)
		}
	})
}

func FuzzReply(f *testing.F) {
	f.Add([]byte{1, 0, 0, 4, '8', '4', '4', '3'})
	f.Add([]byte{1, 1, 0, 2, 'r', '1'})
	f.Add([]byte{1, 1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ReadReply(bytes.NewReader(in))
		if err != nil {
			return
		}
		out := AppendReply(nil, r)
		if !bytes.Equal(out, in[:len(out)]) {
			t.Fatalf("re-encoded %x, input began %x", out, in[:len(out)])
		}
		r2, err := ReadReply(bytes.NewReader(out))
		if err != nil || r2 != r {
			t.Fatalf("round trip %+v -> %+v, %v", r, r2, err)
		}
	})
}

func FuzzControl(f *testing.F) {
	f.Add(appendReset(nil, 3))
	f.Add([]byte{9, 2, 0xff, 0xff, 1, 4, 0, 0, 0, 7})
	f.Add([]byte{1, 4, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		var buf [255]byte
		for {
			typ, val, err := readControl(r, &buf)
			if err != nil {
				return
			}
			if typ == ctrlReset && len(val) == 4 {
				// Round trip: re-encoding the record gives the same bytes.
				id := uint32(val[0])<<24 | uint32(val[1])<<16 | uint32(val[2])<<8 | uint32(val[3])
				if got := appendReset(nil, id); !bytes.Equal(got[2:], val) {
					t.Fatalf("RESET %d re-encoded as %x, want %x", id, got[2:], val)
				}
			}
		}
	})
}
