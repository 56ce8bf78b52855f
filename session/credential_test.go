package session

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestKeyEmptyFileRecovered: a 0-byte session-key, as a crash between
// creating and writing it left it, is replaced rather than refused: no
// credential was ever derived from it.
func TestKeyEmptyFileRecovered(t *testing.T) {
	home := t.TempDir()
	p := filepath.Join(home, keyFile)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := loadOrCreateKey(home)
	if err != nil || len(k) != 32 {
		t.Fatalf("with an empty key file: %d bytes, %v", len(k), err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, k) {
		t.Error("the new key was not stored")
	}
	// A key of the wrong size is still refused: sessions may depend on it.
	os.WriteFile(p, []byte("short"), 0o600)
	if _, err := loadOrCreateKey(home); err == nil {
		t.Error("a damaged key was accepted")
	}
}

// TestKeyCreatedOnceAtomically: concurrent creators agree on one key, the
// file is complete and private whenever it exists, and no temporary file
// is left behind.
func TestKeyCreatedOnceAtomically(t *testing.T) {
	home := t.TempDir()
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := loadOrCreateKey(home)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) || len(keys[i]) != 32 {
			t.Fatalf("creator %d got a different key", i)
		}
	}
	fi, err := os.Stat(filepath.Join(home, keyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	ents, _ := os.ReadDir(home)
	if len(ents) != 1 {
		t.Errorf("files in the home: %v, want only %s", ents, keyFile)
	}
}
