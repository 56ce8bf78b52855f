package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestServeClassKeepsClassesApart: a class listener (the cluster's tunnel)
// serves only its class's sessions, and they are refused on every other
// listener, so a cluster session's credential is good only through the
// tunnel, and a host session's never through it.
func TestServeClassKeepsClassesApart(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback, func(c *Config) {
		c.Class = func(name string) string {
			if name == "sess-k" {
				return "kubernetes"
			}
			return ""
		}
	})
	kube, _ := NewSecret()
	if err := h.sessions.Set("sess-k", kube); err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer up.Close()
	target := strings.TrimPrefix(up.URL, "http://")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.proxy.ServeClass(ctx, ln, "kubernetes") }()
	defer func() { cancel(); <-done }()

	connectTo := func(addr, target, user, pass string) int {
		code, _ := connectOn(t, "tcp", addr, target, user, pass)
		return code
	}
	connect := func(addr, user, pass string) int {
		if addr == ln.Addr().String() {
			// What the cluster's tunnel may carry: an intercepted host.
			return connectTo(addr, "api.anthropic.com:443", user, pass)
		}
		return connectTo(addr, target, user, pass)
	}
	classAddr := ln.Addr().String()
	for _, c := range []struct {
		what, addr, user, pass string
		want                   int
	}{
		{"the class's session on its listener", classAddr, "sess-k", kube, http.StatusOK},
		{"the class's session on the host's listener", h.addr, "sess-k", kube, http.StatusProxyAuthRequired},
		{"a host session on the class listener", classAddr, h.name, h.secret, http.StatusProxyAuthRequired},
		{"a host session on the host's listener", h.addr, h.name, h.secret, http.StatusOK},
		{"a wrong secret on the class listener", classAddr, "sess-k", h.secret, http.StatusProxyAuthRequired},
	} {
		if got := connect(c.addr, c.user, c.pass); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
	// A blind tunnel or a plain-http request to any other host, even on a
	// connection kept alive after an allowed request, is the gateway's to
	// dial under its own policy, never the host's.
	if code := connectTo(classAddr, target, "sess-k", kube); code != http.StatusBadRequest {
		t.Errorf("a blind tunnel through the class listener: %d, want 400", code)
	}
	c, err := net.Dial("tcp", classAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for _, req := range []string{
		"GET http://clauderon.internal/nothing HTTP/1.1\r\nHost: clauderon.internal\r\nProxy-Authorization: Basic " + basic("sess-k", kube) + "\r\n\r\n",
		"GET " + up.URL + "/ HTTP/1.1\r\nHost: " + target + "\r\nProxy-Authorization: Basic " + basic("sess-k", kube) + "\r\n\r\n",
	} {
		fmt.Fprint(c, req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if strings.Contains(req, "clauderon.internal") {
			if resp.StatusCode == http.StatusBadRequest {
				t.Errorf("clauderon.internal through the class listener: %d", resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain http to another host after a kept-alive request: %d, want 400", resp.StatusCode)
		}
	}
	if err := h.proxy.ServeClass(context.Background(), nil, ""); err == nil {
		t.Error("ServeClass without a class")
	}
}
