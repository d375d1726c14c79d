package identity

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// readFile reads path and turns the OS error into one sentence naming the
// file and what it was for.
func readFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("identity: %s %q cannot be read: %w", what, path, err)
	}
	return b, nil
}

// pemBlocks decodes every PEM block of data. Anything but whitespace
// outside the blocks is an error: a half-written file must never load as a
// shorter valid one.
func pemBlocks(what, path string, data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if rest = bytes.TrimSpace(rest); len(rest) != 0 {
		switch {
		case bytes.Contains(rest, []byte("-----BEGIN")):
			return nil, fmt.Errorf("identity: %s %q holds an incomplete PEM block (half-written file?)", what, path)
		case len(blocks) == 0:
			return nil, fmt.Errorf("identity: %s %q is not PEM", what, path)
		default:
			return nil, fmt.Errorf("identity: %s %q holds data after its last PEM block", what, path)
		}
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("identity: %s %q holds no PEM block", what, path)
	}
	return blocks, nil
}

// parseCertsPEM parses a file of CERTIFICATE blocks.
func parseCertsPEM(what, path string, data []byte) ([]*x509.Certificate, error) {
	blocks, err := pemBlocks(what, path, data)
	if err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("identity: %s %q holds a %q PEM block where a CERTIFICATE was expected", what, path, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("identity: %s %q: certificate %d cannot be parsed: %w", what, path, i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// parseKeyPEM parses one private key (PKCS#8, SEC 1 or PKCS#1).
func parseKeyPEM(path string, data []byte) (crypto.Signer, error) {
	const what = "key file"
	blocks, err := pemBlocks(what, path, data)
	if err != nil {
		return nil, err
	}
	if len(blocks) != 1 {
		return nil, fmt.Errorf("identity: key file %q holds %d PEM blocks; it must hold exactly one private key", path, len(blocks))
	}
	b := blocks[0]
	var key any
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("identity: key file %q holds a %q PEM block, not a private key", path, b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("identity: key file %q cannot be parsed: %w", path, err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return k.(crypto.Signer), nil
	default:
		return nil, fmt.Errorf("identity: key file %q holds an unsupported key type %T", path, key)
	}
}

// publicKeyEqual reports whether the signer's public key is pub.
func publicKeyEqual(key crypto.Signer, pub crypto.PublicKey) bool {
	k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}
