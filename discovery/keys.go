package discovery

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// keySize is the size of keys made by GenerateKey (AES-256).
const keySize = 32

// GenerateKey returns a new gossip key: the standard base64 of 32 random
// bytes (`ztunnel keygen`).
func GenerateKey() (string, error) {
	k := make([]byte, keySize)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("discovery: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

// checkKey reports whether k is a valid AES key size for memberlist.
func checkKey(k []byte) error {
	switch len(k) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf("%w: %d bytes, want 16, 24 or 32", ErrInvalidKey, len(k))
}

// KeyFileError is a problem in a key file. It unwraps to ErrInvalidKey or
// ErrNoKeys.
type KeyFileError struct {
	Path   string
	Line   int    // 1-based; 0 when the problem is the whole file
	Reason string // e.g. "not base64"
	Err    error  // ErrInvalidKey or ErrNoKeys
}

func (e *KeyFileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("discovery: key file %s: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("discovery: key file %s:%d: %s", e.Path, e.Line, e.Reason)
}

func (e *KeyFileError) Unwrap() error { return e.Err }

// LoadKeyFile reads gossip keys, one base64 key per line; blank lines and
// lines starting with # are ignored. The first key is the primary (used to
// send); all are accepted. Errors are *KeyFileError naming file and line.
func LoadKeyFile(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("discovery: read key file: %w", err)
	}
	return parseKeys(path, data)
}

func parseKeys(path string, data []byte) ([][]byte, error) {
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		bad := func(reason string) error {
			return &KeyFileError{Path: path, Line: line, Reason: reason, Err: ErrInvalidKey}
		}
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, bad("not valid base64")
		}
		if checkKey(k) != nil {
			return nil, bad(fmt.Sprintf("key is %d bytes, want 16, 24 or 32", len(k)))
		}
		for _, o := range keys {
			if bytes.Equal(o, k) {
				return nil, bad("duplicate key")
			}
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("discovery: read key file %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, &KeyFileError{Path: path, Reason: "no key in file", Err: ErrNoKeys}
	}
	return keys, nil
}
