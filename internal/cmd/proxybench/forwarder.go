package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// The `forwarder` subcommand is a reference point, not a product: the least
// an intercepting proxy can do. It answers CONNECT, terminates TLS with its
// own certificate, sets the credential and relays each request to the
// upstream in the connection's one goroutine — no proxy authentication, no
// rules, audit, streaming or limits. Over HTTP/1.1 it is the floor of a Go
// MITM proxy on this machine; over Go's HTTP/2 client, the floor of one
// that speaks HTTP/2 upstream, as clauderon must.
func forwarderMain(args []string) error {
	fs := flag.NewFlagSet("forwarder", flag.ExitOnError)
	upstream := fs.String("upstream", "", "the upstream's address")
	upstreamCA := fs.String("upstream-ca", "", "the upstream's CA file")
	dir := fs.String("dir", "", "where to write the forwarder's certificate")
	h1 := fs.Bool("h1", false, "speak HTTP/1.1 to the upstream instead of HTTP/2")
	_ = fs.Parse(args)
	runtime.GOMAXPROCS(1) // as clauderon exec runs its proxy
	if *upstream == "" || *upstreamCA == "" || *dir == "" {
		return errors.New("-upstream, -upstream-ca and -dir are required")
	}
	rs, err := roots(*upstreamCA)
	if err != nil {
		return err
	}
	upTLS := &tls.Config{RootCAs: rs, ServerName: "api.anthropic.com"}
	cert, certFile, err := selfSigned(*dir)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	f := &forwarder{upstream: *upstream, upTLS: upTLS, h1: *h1,
		cert: cert, h2: &http.Transport{TLSClientConfig: upTLS, ForceAttemptHTTP2: true, DisableCompression: true,
			HTTP2: &http.HTTP2Config{MaxReadFrameSize: 1 << 20}}}
	fmt.Println(l.Addr(), certFile)
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go f.serve(c)
	}
}

type forwarder struct {
	upstream string
	upTLS    *tls.Config
	h1       bool
	cert     tls.Certificate
	h2       *http.Transport
}

func (f *forwarder) serve(c net.Conn) {
	defer c.Close()
	if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n"); err != nil {
		return
	}
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{f.cert}, NextProtos: []string{"http/1.1"}})
	cr, cw := bufio.NewReader(tc), bufio.NewWriterSize(tc, 32<<10)
	var ur *bufio.Reader
	var uw *bufio.Writer
	if f.h1 {
		cfg := f.upTLS.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		uc, err := tls.Dial("tcp", f.upstream, cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "forwarder:", err)
			return
		}
		defer uc.Close()
		ur, uw = bufio.NewReader(uc), bufio.NewWriterSize(uc, 32<<10)
	}
	for {
		req, err := http.ReadRequest(cr)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+refCanary)
		var resp *http.Response
		if f.h1 {
			if err = req.Write(uw); err == nil {
				err = uw.Flush()
			}
			if err == nil {
				resp, err = http.ReadResponse(ur, req)
			}
		} else {
			req.RequestURI, req.URL.Scheme, req.URL.Host = "", "https", f.upstream
			resp, err = f.h2.RoundTrip(req)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "forwarder:", err)
			return
		}
		resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
		err = resp.Write(cw)
		resp.Body.Close()
		if err != nil || cw.Flush() != nil {
			return
		}
	}
}

// selfSigned makes a certificate for api.anthropic.com that is its own CA,
// and writes it to dir for the client to trust.
func selfSigned(dir string) (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "api.anthropic.com"},
		DNSNames: []string{"api.anthropic.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	f, err := os.CreateTemp(dir, "forwarder-*.pem")
	if err != nil {
		return tls.Certificate{}, "", err
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		return tls.Certificate{}, "", err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, filepath.Clean(f.Name()), nil
}
