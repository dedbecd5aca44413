package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wam-project/wam/domain"
)

const usage = `wam — multi-tenant manager for the WhatsApp Business Platform

Usage:
  wam serve                 run the server (HTTP, projectors, embedded NATS/PostgreSQL)
  wam tenant create         create a tenant and print its first API key
  wam number add            connect a WhatsApp phone number to a tenant
  wam keys rotate           re-encrypt stored credentials under the active key of ENCRYPTION_KEY
  wam user reset-password   give a user (say, a tenant's owner) a new one-time password
  wam operator create       make an operator (signs in at /api/ops) and print a one-time password
  wam replay                re-project webhook history, or adopt unrouted webhooks, with progress
  wam rebuild               build the read models again from the stream, online, and swap them in
  wam erase                 erase one person's data from a tenant for good
  wam bench ingest          load-test webhook ingest of a running server
  wam bench project         measure projector throughput
  wam bench rebuild         measure an online rebuild against the live projector
  wam bench send           drive the whole send path against an in-process Meta simulator
  wam bench live            webhooks to WebSocket clients of the live inbox, with a forced reconnect
  wam bench replay          replay stored webhooks while live ones arrive, and time their acks
  wam bench reliability     run fault scenarios against real servers and count what was lost
  wam sim                   simulate Meta's Cloud API (Graph API, webhooks, customers) for a wam to talk to

Run "wam <command> --help" for a command's flags.
`

// run is wam's entry point; main only wires the process to it, so tests can
// call it with their own arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[1], args[2:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && (cmd == "tenant" || cmd == "number" || cmd == "bench" || cmd == "keys" || cmd == "user" || cmd == "operator") {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "tenant create":
		return tenantCreate(ctx, rest, getenv, stdout, stderr)
	case "number add":
		return numberAdd(ctx, rest, getenv, stdout, stderr)
	case "keys rotate":
		return keysRotate(ctx, rest, getenv, stdout, stderr)
	case "user reset-password":
		return userResetPassword(ctx, rest, getenv, stdout, stderr)
	case "operator create":
		return operatorCreate(ctx, rest, getenv, stdout, stderr)
	case "replay":
		return replay(ctx, rest, getenv, stdout, stderr)
	case "rebuild":
		return rebuildCmd(ctx, rest, getenv, stdout, stderr)
	case "erase":
		return eraseCmd(ctx, rest, getenv, stdout, stderr)
	case "bench ingest":
		return benchIngest(ctx, rest, getenv, stdout, stderr)
	case "bench project":
		return benchProject(ctx, rest, getenv, stdout, stderr)
	case "bench rebuild":
		return benchRebuild(ctx, rest, getenv, stdout, stderr)
	case "bench send":
		return benchSend(ctx, rest, getenv, stdout, stderr)
	case "bench live":
		return benchLive(ctx, rest, getenv, stdout, stderr)
	case "bench replay":
		return benchReplay(ctx, rest, getenv, stdout, stderr)
	case "bench reliability":
		return benchReliability(ctx, rest, getenv, stdout, stderr)
	case "sim":
		return sim(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wam "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args; a --help request is not an error. A value that
// is not UTF-8 text, or holds a NUL, is: PostgreSQL could not store it, and
// it is most likely a terminal or a script in another encoding. The value
// is not repeated in the error: it may be a secret.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	err = fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return true, nil
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err == nil {
		fs.Visit(func(f *flag.Flag) {
			if p := domain.TextProblem(f.Value.String()); p != "" && err == nil {
				err = fmt.Errorf("--%s: %s; give it as UTF-8 text", f.Name, p)
			}
		})
	}
	return false, err
}

// serving scans a server's output for the URL it serves and sends it on the
// returned channel; the rest of the output is drained.
func serving(r io.Reader) <-chan string {
	ch := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "wam serving on "); ok {
				ch <- strings.Replace(u, "localhost", "127.0.0.1", 1)
			}
		}
	}()
	return ch
}
