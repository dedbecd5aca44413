// Package streams is wam's use of NATS JetStream: the embedded server, the
// WAM stream and its subjects, and publishing events with their envelope.
package streams

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ServerOptions configures the embedded NATS server.
type ServerOptions struct {
	// StoreDir is where JetStream keeps its file store.
	StoreDir string
	// Listen is "host:port" to accept NATS clients on; empty listens on no
	// TCP port at all and only in-process connections reach the server.
	Listen string
	// SyncAlways makes the server fsync every write before acknowledging it,
	// for deployments that must survive power loss (not just a crash).
	SyncAlways bool
}

// StartServer starts an embedded NATS server with JetStream and waits until it
// is ready for connections.
func StartServer(o ServerOptions) (*server.Server, error) {
	opts := &server.Options{
		ServerName:         "wam",
		JetStream:          true,
		StoreDir:           o.StoreDir,
		SyncAlways:         o.SyncAlways,
		NoSigs:             true,
		NoLog:              true,
		DontListen:         o.Listen == "",
		MaxPayload:         8 << 20, // a whole webhook (≤ 3 MiB) plus headers fits in one message
		JetStreamMaxMemory: 64 << 20,
	}
	if o.Listen != "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats listen address %q: %w", o.Listen, err)
		}
		opts.Host = host
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("nats listen port %q: %w", port, err)
		}
		if opts.Port == 0 {
			opts.Port = server.RANDOM_PORT // nats-server reads 0 as its default port, 4222
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("create embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats not ready within 10s (store %s)", o.StoreDir)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats started without JetStream (store %s)", o.StoreDir)
	}
	return ns, nil
}

// ConnectInProcess connects to an embedded server (a *server.Server or an
// *Embedded) without a socket. Reconnecting costs a function call, so it is
// tried often.
func ConnectInProcess(ns nats.InProcessConnProvider, name string) (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name(name), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats: %w", err)
	}
	return nc, nil
}

// Connect connects to the NATS server at url, retrying in the background
// while it is away.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(false))
	if err != nil {
		return nil, fmt.Errorf("connect to nats at %s: %w", url, err)
	}
	return nc, nil
}
