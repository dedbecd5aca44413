package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

const benchReliabilityUsage = `Usage: wam bench reliability [--scenarios LIST] [--rate R] [--fault D]

Runs fault scenarios against real "wam serve" processes (this binary, each
scenario on a fresh data dir with its private PostgreSQL and embedded NATS)
under a steady load of signed webhooks, then reads every acknowledged
webhook back through the API and prints a table:

  scenario     what was done
  acked        webhooks answered 200
  refused      webhooks answered otherwise or not at all (Meta delivers those again)
  found        acked webhooks whose message is in the read models
  lost         acked webhooks not found
  duplicated   acked webhooks found more than once
  fault_s      how long the fault lasted (for a kill: until wam served again)
  p99_ms       latency of the webhooks answered during the fault
  recovered_s  from the end of the fault until every webhook acked by then
               was found (-1: not within 3 minutes)

Scenarios:
  pg-stall   SIGSTOP of the private PostgreSQL (postmaster and backends) for
             the fault's length; webhooks for a number never seen before
             arrive during it too
  pg-kill    SIGKILL of the private PostgreSQL's postmaster: wam starts it again
  wam-kill   SIGKILL of wam serve, started again on the same data dir
  odd-text   webhooks whose text holds NUL, invalid UTF-8 and lone
             surrogates, or with deep nesting and huge numbers elsewhere

The last line of stdout is a JSON array of the rows.

Flags:
`

type reliabilityOptions struct {
	scenarios []string
	rate      int
	fault     time.Duration
	bin       string
	stderr    io.Writer
}

// reliabilityRow is one line of the table.
type reliabilityRow struct {
	Scenario   string  `json:"scenario"`
	Acked      int     `json:"acked"`
	Refused    int     `json:"refused"`
	Found      int     `json:"found"`
	Lost       int     `json:"lost"`
	Duplicated int     `json:"duplicated"`
	FaultS     float64 `json:"fault_s"`
	P99Ms      float64 `json:"p99_ms"`
	RecoveredS float64 `json:"recovered_s"`
}

// benchReliability is `wam bench reliability`: see benchReliabilityUsage.
func benchReliability(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o reliabilityOptions
	fs := newFlagSet("bench reliability", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchReliabilityUsage)
		fs.PrintDefaults()
	}
	list := fs.String("scenarios", "pg-stall,pg-kill,wam-kill,odd-text", "comma-separated `scenarios` to run, in order")
	fs.IntVar(&o.rate, "rate", 300, "webhooks per `second` of the steady load")
	fs.DurationVar(&o.fault, "fault", 45*time.Second, "how long a stall lasts")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	for _, s := range strings.Split(*list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains([]string{"pg-stall", "pg-kill", "wam-kill", "odd-text"}, s) {
			return fmt.Errorf("--scenarios: unknown scenario %q", s)
		}
		o.scenarios = append(o.scenarios, s)
	}
	if o.rate < 1 || o.fault <= 0 {
		return errors.New("--rate and --fault must be positive")
	}
	var err error
	if o.bin, err = os.Executable(); err != nil {
		return fmt.Errorf("find this binary to start wam serve with: %w", err)
	}
	o.stderr = stderr
	var rows []reliabilityRow
	for _, s := range o.scenarios {
		fmt.Fprintf(stderr, "reliability: scenario %s\n", s)
		row, err := runScenario(ctx, o, s)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s, err)
		}
		fmt.Fprintf(stderr, "reliability: %+v\n", row)
		rows = append(rows, row)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tacked\trefused\tfound\tlost\tduplicated\tfault (s)\tp99 during fault (ms)\trecovered after (s)\t")
	for _, r := range rows {
		p99, recovered := fmt.Sprintf("%.1f", r.P99Ms), fmt.Sprintf("%.1f", r.RecoveredS)
		if r.P99Ms == 0 {
			p99 = "-" // nothing was acknowledged during the fault (wam itself was down)
		}
		if r.RecoveredS < 0 {
			recovered = "never"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%s\t%s\t\n", r.Scenario, r.Acked, r.Refused, r.Found, r.Lost, r.Duplicated, r.FaultS, p99, recovered)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printJSON(stdout, rows)
}

// rig is one wam serve on a data dir of its own, with a tenant owning two
// numbers: 111 (the steady load's) and 222 (used only during a fault).
type rig struct {
	o       reliabilityOptions
	dir     string
	env     []string
	secret  string
	base    string
	apiKey  string
	cmd     *exec.Cmd
	exited  chan error
	client  *http.Client
	bodyLog io.Writer
}

func newRig(ctx context.Context, o reliabilityOptions) (*rig, error) {
	dir, err := os.MkdirTemp("", "wam-reliability-")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	r := &rig{o: o, dir: dir, secret: hex.EncodeToString(secret), client: &http.Client{Timeout: 30 * time.Second}, bodyLog: o.stderr}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r.base = "http://127.0.0.1:" + strconv.Itoa(port)
	r.env = append(os.Environ(), "WAM_DATA_DIR="+filepath.Join(dir, "data"), "META_APP_SECRET="+r.secret,
		"PORT="+strconv.Itoa(port), "LOG_LEVEL=warn", "DATABASE_URL=", "NATS_URL=")
	out, err := r.wam(ctx, "tenant", "create", "--name", "reliability", "--requests-per-minute", "1000000")
	if err != nil {
		return nil, err
	}
	var created struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &created); err != nil {
		return nil, fmt.Errorf("tenant create printed %q: %w", out, err)
	}
	r.apiKey = created.APIKey
	for _, pnid := range []string{"111", "222"} {
		if _, err := r.wam(ctx, "number", "add", "--tenant", created.TenantID, "--phone-number-id", pnid,
			"--display-phone-number", "+1 555-000-1111", "--waba-id", "100111"); err != nil {
			return nil, err
		}
	}
	return r, r.start(ctx)
}

// wam runs a one-shot wam command in the rig's environment.
func (r *rig) wam(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.o.bin, args...)
	cmd.Env = r.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("wam %s: %w: %s", strings.Join(args, " "), err, errOut.Bytes())
	}
	return out.String(), nil
}

// start runs wam serve and waits until it serves.
func (r *rig) start(ctx context.Context) error {
	cmd := exec.Command(r.o.bin, "serve")
	cmd.Env = r.env
	cmd.Stderr = r.o.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd, r.exited = cmd, make(chan error, 1)
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "wam serving on ") {
				close(serving)
			}
		}
	}()
	go func() { r.exited <- cmd.Wait() }()
	select {
	case <-serving:
		return nil
	case err := <-r.exited:
		return fmt.Errorf("wam serve exited before serving: %v", err)
	case <-time.After(90 * time.Second):
		return errors.New("wam serve did not serve within 90 s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends wam serve with SIGTERM (SIGKILL if it lingers) and removes the
// data dir.
func (r *rig) stop() {
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(30 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	}
	// The private PostgreSQL outlives a killed serve: stop it too.
	if pid, ok := r.postmaster(); ok {
		_ = syscall.Kill(pid, syscall.SIGQUIT)
	}
	os.RemoveAll(r.dir)
}

// postmaster is the pid of the private PostgreSQL.
func (r *rig) postmaster() (int, bool) {
	b, err := os.ReadFile(filepath.Join(r.dir, "data", "postgres", "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return pid, err == nil && syscall.Kill(pid, 0) == nil
}

// postgresProcesses are the postmaster and its children.
func (r *rig) postgresProcesses() []int {
	pm, ok := r.postmaster()
	if !ok {
		return nil
	}
	pids := []int{pm}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": the fields after the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pm) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// sent is one posted webhook.
type sent struct {
	wamid string
	at    time.Time
	took  time.Duration
	acked bool
}

// load posts webhooks at the rig's rate until stop is closed; bodies come
// from body(i). Results go to the returned function once load has ended.
type load struct {
	mu    sync.Mutex
	sents []sent
	wg    sync.WaitGroup
	stop  chan struct{}
}

func (r *rig) load(pnid string, rate int, body func(i int) (wamid string, b []byte)) *load {
	l := &load{stop: make(chan struct{})}
	inflight := make(chan struct{}, 512)
	l.wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			wamid, b := body(i)
			inflight <- struct{}{}
			l.wg.Go(func() {
				defer func() { <-inflight }()
				s := sent{wamid: wamid, at: time.Now()}
				code, err := r.post(b)
				s.took, s.acked = time.Since(s.at), err == nil && code == http.StatusOK
				l.mu.Lock()
				l.sents = append(l.sents, s)
				l.mu.Unlock()
			})
		}
	})
	return l
}

func (l *load) end() []sent {
	close(l.stop)
	l.wg.Wait()
	return l.sents
}

func (r *rig) post(body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, r.base+"/api/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	mac := hmac.New(sha256.New, []byte(r.secret))
	mac.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// reliabilityText is a webhook of one text message.
func reliabilityText(pnid, wamid, from, text string) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"100111","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"contacts":[{"profile":{"name":"Customer"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"%d","text":{"body":%q},"type":"text"}]},"field":"messages"}]}]}`,
		pnid, from, from, wamid, time.Now().Unix(), text)
}

func steady(pnid, prefix string) func(i int) (string, []byte) {
	return func(i int) (string, []byte) {
		wamid := fmt.Sprintf("wamid.%s.%d", prefix, i)
		return wamid, reliabilityText(pnid, wamid, fmt.Sprintf("1650555%04d", i%50), "steady traffic")
	}
}

// oddBodies are webhooks that once made a message vanish from the inbox.
func oddBodies(i int) (string, []byte) {
	wamid := fmt.Sprintf("wamid.odd.%d", i)
	from := fmt.Sprintf("1650556%04d", i%50)
	base := string(reliabilityText("111", wamid, from, "odd"))
	switch i % 5 {
	case 0:
		return wamid, []byte(strings.Replace(base, `"body":"odd"`, `"body":"a\u0000b"`, 1))
	case 1:
		return wamid, []byte(strings.Replace(base, `"body":"odd"`, "\"body\":\"a\xff\xfeb\"", 1))
	case 2:
		return wamid, []byte(strings.Replace(base, `"body":"odd"`, `"body":"a\ud800b"`, 1))
	case 3:
		deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
		return wamid, []byte(strings.Replace(base, `"messaging_product":"whatsapp"`, `"messaging_product":"whatsapp","x":`+deep, 1))
	default:
		return wamid, []byte(strings.Replace(base, `"messaging_product":"whatsapp"`, `"messaging_product":"whatsapp","x":1e999999`, 1))
	}
}

func runScenario(ctx context.Context, o reliabilityOptions, scenario string) (reliabilityRow, error) {
	row := reliabilityRow{Scenario: scenario}
	r, err := newRig(ctx, o)
	if err != nil {
		return row, err
	}
	defer r.stop()

	var loads []*load
	main := r.load("111", o.rate, steady("111", "steady"))
	loads = append(loads, main)
	if scenario == "odd-text" {
		loads = append(loads, r.load("111", max(o.rate/10, 1), oddBodies))
	}
	warm := time.After(5 * time.Second)
	<-warm
	faultStart := time.Now()
	var faultEnd time.Time
	switch scenario {
	case "pg-stall":
		pids := r.postgresProcesses()
		if len(pids) == 0 {
			return row, errors.New("the private PostgreSQL is not running")
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGSTOP)
		}
		// The number nobody has routed yet gets webhooks during the stall.
		late := r.load("222", 5, steady("222", "uncached"))
		loads = append(loads, late)
		select {
		case <-time.After(o.fault):
		case <-ctx.Done():
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
		faultEnd = time.Now()
	case "pg-kill":
		pm, ok := r.postmaster()
		if !ok {
			return row, errors.New("the private PostgreSQL is not running")
		}
		_ = syscall.Kill(pm, syscall.SIGKILL)
		// The fault lasts until wam has started a new postmaster and says
		// it is ready again.
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if now, ok := r.postmaster(); ok && now != pm {
				break
			}
			if time.Now().After(deadline) {
				return row, errors.New("no new PostgreSQL within 2 minutes of the kill")
			}
			<-time.After(100 * time.Millisecond)
		}
		if err := r.waitReady(ctx, 2*time.Minute); err != nil {
			return row, err
		}
		faultEnd = time.Now()
	case "wam-kill":
		_ = r.cmd.Process.Kill()
		<-r.exited
		r.cmd = nil
		if err := r.start(ctx); err != nil {
			return row, err
		}
		faultEnd = time.Now()
	case "odd-text":
		select {
		case <-time.After(o.fault / 3):
		case <-ctx.Done():
		}
		faultEnd = time.Now()
	}
	// Recovery: from the end of the fault until every webhook acknowledged
	// by then is in the read models; watched while the load goes on.
	api := &benchAPI{client: r.client, base: r.base, key: r.apiKey}
	recovered := make(chan float64, 1)
	go func() {
		before := map[string]bool{}
		for _, l := range loads {
			l.mu.Lock()
			for _, s := range l.sents {
				if s.acked {
					before[s.wamid] = true
				}
			}
			l.mu.Unlock()
		}
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if seen, err := r.seen(ctx, api); err == nil {
				found := 0
				for w := range before {
					if seen[w] > 0 {
						found++
					}
				}
				if found == len(before) {
					recovered <- round1(time.Since(faultEnd).Seconds())
					return
				}
			}
			<-time.After(250 * time.Millisecond)
		}
		recovered <- -1 // never
	}()
	<-time.After(5 * time.Second) // the steady load goes on after the fault
	var all []sent
	for _, l := range loads {
		all = append(all, l.end()...)
	}

	want := map[string]bool{}
	var during []time.Duration
	for _, s := range all {
		if !s.acked {
			row.Refused++
			continue
		}
		row.Acked++
		want[s.wamid] = true
		if !s.at.Before(faultStart) && s.at.Before(faultEnd) {
			during = append(during, s.took)
		}
	}
	slices.Sort(during)
	row.P99Ms = percentileMs(during, 0.99)
	row.FaultS = round1(faultEnd.Sub(faultStart).Seconds())

	deadline := time.Now().Add(3 * time.Minute)
	for {
		seen, err := r.seen(ctx, api)
		if err == nil {
			row.Found, row.Duplicated = 0, 0
			for w := range want {
				if seen[w] > 0 {
					row.Found++
				}
				if seen[w] > 1 {
					row.Duplicated++
				}
			}
			if row.Found == len(want) {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return row, ctx.Err()
		}
	}
	row.RecoveredS = <-recovered
	row.Lost = row.Acked - row.Found
	return row, nil
}

// seen counts the tenant's messages by wamid, through the API.
func (r *rig) seen(ctx context.Context, api *benchAPI) (map[string]int, error) {
	convs, err := api.conversations(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, c := range convs {
		msgs, err := api.messages(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			out[m.WAMID]++
		}
	}
	return out, nil
}

// waitReady waits until /readyz answers 200.
func (r *rig) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := r.client.Get(r.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("/readyz not 200 within %s", limit)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
