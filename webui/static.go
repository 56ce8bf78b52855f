package webui

import (
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// csp lets the page run only its own files: no inline script or style, no
// frames of it elsewhere, no form posting away.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// securityHeaders go on every answer, errors included.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// static serves the frontend's files. A path with no extension that names
// no file is a client-side route and gets index.html; directories are
// never listed.
func (s *Server) static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		if !s.serveFile(w, r, name) {
			if path.Ext(name) != "" || !s.serveFile(w, r, "index.html") {
				http.NotFound(w, r)
			}
		}
	})
}

// serveFile serves one regular file of the frontend; false when there is none.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) bool {
	f, err := s.cfg.Files.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		// Every fs.FS we embed seeks; read one that does not whole.
		b, err := fs.ReadFile(s.cfg.Files, name)
		if err != nil {
			return false
		}
		rs = strings.NewReader(string(b))
	}
	// The files change with the binary, not otherwise: revalidate always
	// so that an upgraded daemon's page is never mixed with an old one's.
	w.Header().Set("Cache-Control", "no-cache")
	// Embedded files have no time: ServeContent then sends no Last-Modified.
	http.ServeContent(w, r, name, fi.ModTime(), rs)
	return true
}
