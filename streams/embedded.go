package streams

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wam-project/wam/supervisor"
)

// Embedded is an embedded NATS server that Supervise replaces with a new
// one when it stops or loses JetStream. It is a nats.InProcessConnProvider:
// connections made through it (ConnectInProcess) reach whichever server is
// current, so they reconnect to a new one by themselves. A connection made
// with the *server.Server itself would try the stopped server for ever.
type Embedded struct {
	opts ServerOptions

	mu sync.Mutex
	ns *server.Server
}

// StartEmbedded starts an embedded server as StartServer does.
func StartEmbedded(o ServerOptions) (*Embedded, error) {
	ns, err := StartServer(o)
	if err != nil {
		return nil, err
	}
	if o.Listen != "" {
		// Servers after this one listen where it does, also when o.Listen
		// asked for any free port: clients outside know that one.
		o.Listen = ns.Addr().String()
	}
	return &Embedded{opts: o, ns: ns}, nil
}

// Server is the current server.
func (e *Embedded) Server() *server.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ns
}

// InProcessConn connects to the current server without a socket.
func (e *Embedded) InProcessConn() (net.Conn, error) { return e.Server().InProcessConn() }

// Supervise starts a new server whenever the current one has shut down or
// has JetStream disabled, which nats-server does on store errors (a full
// disk, say) and undoes only when restarted. The new server recovers the
// streams from the file store. Attempts and their outcomes go to
// opts.Logger. Stop the supervisor before calling Shutdown.
func (e *Embedded) Supervise(ctx context.Context, opts supervisor.Options) *supervisor.Supervisor {
	return supervisor.Start(ctx, supervisor.Service{Name: "embedded NATS", Check: e.running, Start: e.restart}, opts)
}

func (e *Embedded) running() error {
	ns := e.Server()
	if !ns.Running() {
		return errors.New("the server has shut down")
	}
	if !ns.JetStreamEnabled() {
		return errors.New("JetStream is disabled (nats-server disables it on store errors such as a full disk)")
	}
	return nil
}

// restart replaces the current server with a new one on the same store.
// StartServer bounds the wait; ctx is not needed.
func (e *Embedded) restart(context.Context) error {
	old := e.Server()
	old.Shutdown() // a server without JetStream still runs, and holds the store
	old.WaitForShutdown()
	ns, err := StartServer(e.opts)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.ns = ns
	e.mu.Unlock()
	return nil
}

// Shutdown stops the current server and waits until it has stopped.
func (e *Embedded) Shutdown() {
	ns := e.Server()
	ns.Shutdown()
	ns.WaitForShutdown()
}
