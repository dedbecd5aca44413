package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// poster is a minimal HTTP/1.1 keep-alive client for the load generator,
// the way wrk is one: the generator shares the cores with the server it
// measures, and net/http's client costs as much CPU per request as a good
// part of the server's path. It writes requests built from bytes and reads
// only the status line, Content-Length and the body.
type poster struct {
	addr, host string
	timeout    time.Duration
	conn       net.Conn
	r          *bufio.Reader
	w          *bufio.Writer
	head       []byte
}

// newPoster returns a poster for base, an http:// URL.
func newPoster(base string, timeout time.Duration) (*poster, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("--url %q: %w", base, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("--url %q: the load generator speaks plain http to the server it measures", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &poster{addr: addr, host: u.Host, timeout: timeout}, nil
}

// post sends body to path with the given signature header and returns the
// status and (up to 4 KiB of) the response body. A broken keep-alive
// connection is redialled once.
func (p *poster) post(path, signature string, body []byte) (int, []byte, error) {
	status, msg, err := p.try(path, signature, body)
	if err != nil && p.conn != nil {
		p.close()
		status, msg, err = p.try(path, signature, body)
	}
	if err != nil {
		p.close()
	}
	return status, msg, err
}

func (p *poster) try(path, signature string, body []byte) (int, []byte, error) {
	if p.conn == nil {
		c, err := net.DialTimeout("tcp", p.addr, p.timeout)
		if err != nil {
			return 0, nil, err
		}
		p.conn, p.r, p.w = c, bufio.NewReaderSize(c, 8<<10), bufio.NewWriterSize(c, 16<<10)
	}
	if err := p.conn.SetDeadline(time.Now().Add(p.timeout)); err != nil {
		return 0, nil, err
	}
	h := p.head[:0]
	h = append(h, "POST "...)
	h = append(h, path...)
	h = append(h, " HTTP/1.1\r\nHost: "...)
	h = append(h, p.host...)
	h = append(h, "\r\nUser-Agent: facebookexternalua\r\nContent-Type: application/json\r\nX-Hub-Signature-256: "...)
	h = append(h, signature...)
	h = append(h, "\r\nContent-Length: "...)
	h = strconv.AppendInt(h, int64(len(body)), 10)
	h = append(h, "\r\n\r\n"...)
	p.head = h
	p.w.Write(h)
	p.w.Write(body)
	if err := p.w.Flush(); err != nil {
		return 0, nil, err
	}
	return p.readResponse()
}

func (p *poster) readResponse() (int, []byte, error) {
	line, err := p.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("not an HTTP response: %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("status line %q", line)
	}
	length, closing := -1, false
	for {
		line, err := p.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, fmt.Errorf("content-length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			closing = true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, nil, errors.New("chunked responses are not expected from wam's webhook endpoint")
		}
	}
	if length < 0 {
		return 0, nil, errors.New("response without Content-Length")
	}
	msg := make([]byte, min(length, 4<<10))
	if _, err := io.ReadFull(p.r, msg); err != nil {
		return 0, nil, err
	}
	if _, err := p.r.Discard(length - len(msg)); err != nil {
		return 0, nil, err
	}
	if closing {
		p.close()
	}
	return status, msg, nil
}

func (p *poster) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}
