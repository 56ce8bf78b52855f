package workspace

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// racyWindow is how much older than the moment it is hashed a file's ctime
// must be for its hash to be kept. A file changed again within the same
// clock tick (some filesystems count whole seconds, FAT two) could keep the
// stamps it had when it was hashed; git's index has the same rule.
const racyWindow = 2 * time.Second

// HashCache remembers the hashes of a workspace's files between scans, so
// that an unchanged tree is not read again in full. A hash is reused only
// when the file's device, inode, size, mode, mtime and ctime (from fstat of
// the opened file) all match what they were when it was hashed: the agent
// can set mtime, but not ctime, so no forged stamp makes a changed file
// look unchanged. Its zero value is not usable: make one with NewHashCache.
// It is safe for concurrent scans of one workspace.
type HashCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry // by slash path in the working tree
	now     func() time.Time      // the clock; tests move it
	hashed  atomic.Int64          // files hashed rather than taken from here
}

type cacheEntry struct {
	stamp fileStamp
	hash  plumbing.Hash
}

// fileStamp is what stat says of a file, enough to tell that it changed.
type fileStamp struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
	mode         uint32
}

// NewHashCache returns an empty cache.
func NewHashCache() *HashCache {
	return &HashCache{entries: map[string]cacheEntry{}, now: time.Now}
}

func (c *HashCache) lookup(p string, st fileStamp) (plumbing.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[p]
	if !ok || e.stamp != st {
		return plumbing.ZeroHash, false
	}
	return e.hash, true
}

// clock is the moment a file's hashing starts.
func (c *HashCache) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}

// store keeps the hash of the file at p, hashed from start on, whose stamps
// were st before and after the read, unless its ctime is too recent to
// trust (see racyWindow).
func (c *HashCache) store(p string, st fileStamp, h plumbing.Hash, start time.Time) {
	if st.ctime > start.Add(-racyWindow).UnixNano() {
		c.forget(p)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries != nil {
		c.entries[p] = cacheEntry{stamp: st, hash: h}
	}
}

func (c *HashCache) forget(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, p)
}

// retain drops the entries of files a complete scan did not see.
func (c *HashCache) retain(files []*node) {
	seen := make(map[string]bool, len(files))
	for _, n := range files {
		seen[n.path] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.entries {
		if !seen[p] {
			delete(c.entries, p)
		}
	}
}
