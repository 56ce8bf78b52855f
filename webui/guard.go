package webui

import (
	"net/http"
	"strconv"
)

// guard refuses, before anything else (the login included), what a page
// of another site can send: a Host that is not this listener's loopback
// name and port (DNS rebinding: evil.example resolving to 127.0.0.1 sends
// its own name), an Origin that is not this server's, and a Sec-Fetch-Site
// that says the request crossed sites. Requests without Origin or
// Sec-Fetch-* (curl, a top-level navigation by an older browser) pass to
// the cookie check.
func (s *Server) guard(next http.Handler) http.Handler {
	p := strconv.Itoa(s.port)
	// 127.0.0.1 alone: localhost may resolve to ::1 first, where another
	// user can listen on this port.
	hosts := map[string]bool{"127.0.0.1:" + p: true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hosts[r.Host] {
			forbidden(w, r, "this server answers only to http://127.0.0.1:"+p)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			forbidden(w, r, "requests from another origin are refused")
			return
		}
		// The login may be reached from anywhere (its token is the
		// secret); nothing else may cross sites.
		if sf := r.Header.Get("Sec-Fetch-Site"); sf != "" && sf != "same-origin" && sf != "none" && r.URL.Path != "/login" {
			forbidden(w, r, "cross-site requests are refused")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func forbidden(w http.ResponseWriter, r *http.Request, why string) {
	w.Header().Set("Connection", "close") // hold no slot of the listener's pool
	if isAPI(r.URL.Path) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": why})
		return
	}
	page(w, http.StatusForbidden, "Forbidden", why)
}
