package cluster

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// The docker runtime puts the driver and each node in its own container on a
// private network of the run, so that a node is a host: its own address, its
// executors inside it, and a whole that can be paused, cut off the network or
// killed. Containers run an image built here FROM scratch with the static
// faultbook binary: nothing is pulled. Everything made carries LabelKey (and
// the run's LabelRun), so a run removes what it made, and `faultbook cleanup`
// removes what a crashed run left.

const (
	// LabelKey marks every container, network and image faultbook makes.
	LabelKey = "io.faultbook"
	// LabelRun names the faultbook run that made it: "<pid>-<start>".
	LabelRun = "io.faultbook.run"
	// LabelBinary is the node image's binary's hash.
	LabelBinary = "io.faultbook.binary"
	// ImageRepo is the node image's repository; its tag is the binary's hash.
	ImageRepo = "faultbook-node"
	// imageBinary is the binary's path inside the image.
	imageBinary = "/faultbook"
	// driverHost is the driver container's host name on the run's network.
	driverHost = "driver"
	// NodeResultPrefix starts the file a node container leaves in the run
	// directory: node-node-a.json, its executors and how each ended.
	NodeResultPrefix = "node-"
)

// Docker is the docker runtime of one faultbook run.
type Docker struct {
	cli    *testcontainers.DockerClient
	run    string
	binary string

	mu    sync.Mutex
	image string
	// BuildTime is how long building the node image took (0: reused).
	BuildTime time.Duration
}

// NewDocker connects to the Docker engine, bounded by a few seconds: an
// engine that is missing or does not answer is an infrastructure error with a
// one-line reason. binary is the faultbook executable put in the image: it
// must be linked statically (CGO_ENABLED=0) to run FROM scratch.
func NewDocker(ctx context.Context, binary string) (*Docker, error) {
	// The reaper would pull its image; this runtime removes what it made.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	cli, err := dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkStatic(binary); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w: docker runtime: %v", ErrInfra, err)
	}
	return &Docker{cli: cli, binary: binary, run: fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())}, nil
}

// dockerClient connects and pings the engine within 5 s.
func dockerClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	tclog.SetDefault(tclog.NewNoopLogger())
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	type res struct {
		cli *testcontainers.DockerClient
		err error
	}
	ch := make(chan res, 1)
	go func() {
		var opts []client.Opt
		if os.Getenv("DOCKER_HOST") != "" {
			// The engine named is the one meant: no fallback to another.
			opts = append(opts, client.FromEnv)
		}
		cli, err := testcontainers.NewDockerClientWithOpts(pctx, opts...)
		if err == nil {
			if _, err = cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
				_ = cli.Close()
			}
		}
		ch <- res{cli, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("%w: docker runtime: no Docker engine answers: %s", ErrInfra, firstLine(r.err.Error()))
		}
		return r.cli, nil
	case <-pctx.Done():
		return nil, fmt.Errorf("%w: docker runtime: no Docker engine answered within 5s", ErrInfra)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// checkStatic refuses a dynamically linked binary: FROM scratch it has no
// loader to run with.
func checkStatic(binary string) error {
	f, err := elf.Open(binary)
	if err != nil {
		return fmt.Errorf("read %s: %v", binary, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is linked dynamically; build it with CGO_ENABLED=0 (make build does)", binary)
		}
	}
	return nil
}

func (d *Docker) labels() map[string]string {
	return map[string]string{LabelKey: "true", LabelRun: d.run}
}

// Image returns the node image's tag for this run, building the image on
// first use: FROM scratch, the binary and nothing else, labelled with the
// binary's hash. An image of the same binary already there (another run's)
// is reused: this run adds its own tag, faultbook-node:<hash>-<run>, and
// removes only that tag at Close, so the image goes with the last run using it.
func (d *Docker) Image(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.image != "" {
		return d.image, nil
	}
	bin, err := os.ReadFile(d.binary)
	if err != nil {
		return "", fmt.Errorf("%w: read binary: %v", ErrInfra, err)
	}
	sum := sha256.Sum256(bin)
	hash := hex.EncodeToString(sum[:])[:16]
	tag := ImageRepo + ":" + hash + "-" + d.run
	is, err := d.cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", LabelBinary+"="+hash)})
	if err == nil {
		for _, im := range is.Items {
			if _, err := d.cli.ImageTag(ctx, client.ImageTagOptions{Source: im.ID, Target: tag}); err == nil {
				d.image = tag
				return tag, nil
			} // gone meanwhile: build
		}
	}
	start := time.Now()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// The labels come first, so every layer's image carries them and a
	// cleanup finds what an interrupted build left.
	dockerfile := []byte(fmt.Sprintf("FROM scratch\nLABEL %s=true %s=%s %s=%s\nCOPY faultbook %s\nENTRYPOINT [\"%s\"]\n",
		LabelKey, LabelRun, d.run, LabelBinary, hash, imageBinary, imageBinary))
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"faultbook", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return "", fmt.Errorf("%w: build context: %v", ErrInfra, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", fmt.Errorf("%w: build context: %v", ErrInfra, err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("%w: build context: %v", ErrInfra, err)
	}
	res, err := d.cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		return "", fmt.Errorf("%w: build node image: %s", ErrInfra, firstLine(err.Error()))
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("%w: build node image: %v", ErrInfra, err)
		}
		if m.Error != "" {
			return "", fmt.Errorf("%w: build node image: %s", ErrInfra, firstLine(m.Error))
		}
	}
	d.image, d.BuildTime = tag, time.Since(start)
	return tag, nil
}

// Close removes every container and network of this run, and its image tag
// (the image with it, unless another run still uses it). It uses its own
// deadline: it runs after Ctrl-C too.
func (d *Docker) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mine := func(labels map[string]string) bool { return labels[LabelRun] == d.run }
	// A container whose creation was under way when the run was interrupted
	// can appear after the first pass: remove until a pass finds nothing.
	var err error
	for range 5 {
		var n Removed
		if n, err = removeLabelled(ctx, d.cli, mine, true, false); err == nil && n == (Removed{}) {
			break
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	d.mu.Lock()
	image := d.image
	d.mu.Unlock()
	if image != "" {
		// Untag; the image goes when no run's tag is left. A layer of a build
		// this run interrupted carries its run label: remove those too.
		if _, rerr := d.cli.ImageRemove(ctx, image, client.ImageRemoveOptions{PruneChildren: true}); rerr != nil && !strings.Contains(rerr.Error(), "No such image") {
			err = errors.Join(err, rerr)
		}
	}
	_, _ = removeDanglingOf(ctx, d.cli, mine)
	_ = d.cli.Close()
	return err
}

// Run is this runtime's run label, "<pid>-<start>".
func (d *Docker) Run() string { return d.run }

// Removed counts what a cleanup removed.
type Removed struct{ Containers, Networks, Images int }

// Cleanup removes every container, network and image faultbook made, of any
// run: what a crashed run left behind.
func Cleanup(ctx context.Context) (Removed, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return Removed{}, err
	}
	defer cli.Close()
	return removeLabelled(ctx, cli, func(map[string]string) bool { return true }, true, true)
}

// Leftovers counts what faultbook made and is still there, of the runs whose
// label starts with runPrefix ("" for every run; "<pid>-" for one process's).
func Leftovers(ctx context.Context, runPrefix string) (Removed, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return Removed{}, err
	}
	defer cli.Close()
	n, err := removeLabelled(ctx, cli, func(l map[string]string) bool { return strings.HasPrefix(l[LabelRun], runPrefix) }, false, false)
	if err != nil {
		return n, err
	}
	// An image another run still uses stays; a run's own tag must not.
	is, err := cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: client.Filters{}.Add("label", LabelKey)})
	if err != nil {
		return n, fmt.Errorf("%w: list images: %v", ErrInfra, err)
	}
	for _, im := range is.Items {
		tagged := false
		for _, t := range im.RepoTags {
			if strings.Contains(t, ":") && strings.Contains(t[strings.LastIndexByte(t, ':'):], "-"+runPrefix) {
				tagged = true
			}
		}
		if tagged || len(im.RepoTags) == 0 && strings.HasPrefix(im.Labels[LabelRun], runPrefix) && runPrefix == "" {
			n.Images++
		}
	}
	return n, nil
}

// removeLabelled removes (or, with remove false, counts) the containers,
// then the networks, then (withImages) the images labelled LabelKey whose
// labels match.
func removeLabelled(ctx context.Context, cli *testcontainers.DockerClient, match func(map[string]string) bool, remove, withImages bool) (Removed, error) {
	var n Removed
	var errs []error
	f := client.Filters{}.Add("label", LabelKey)
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return n, fmt.Errorf("%w: list containers: %v", ErrInfra, err)
	}
	for _, c := range cs.Items {
		if !match(c.Labels) {
			continue
		}
		if remove {
			if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		n.Containers++
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return n, fmt.Errorf("%w: list networks: %v", ErrInfra, err)
	}
	for _, nw := range ns.Items {
		if !match(nw.Labels) {
			continue
		}
		if remove {
			if _, err := cli.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{}); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		n.Networks++
	}
	if !withImages {
		return n, errors.Join(errs...)
	}
	is, err := cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: f})
	if err != nil {
		return n, fmt.Errorf("%w: list images: %v", ErrInfra, err)
	}
	for _, im := range is.Items {
		if !match(im.Labels) {
			continue
		}
		if remove {
			// A layer goes with the image above it: gone already is done.
			if _, err := cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !strings.Contains(err.Error(), "No such image") {
				errs = append(errs, err)
				continue
			}
		}
		n.Images++
	}
	return n, errors.Join(errs...)
}

// removeDanglingOf removes untagged images (layers of an interrupted build)
// whose labels match.
func removeDanglingOf(ctx context.Context, cli *testcontainers.DockerClient, match func(map[string]string) bool) (int, error) {
	f := client.Filters{}.Add("label", LabelKey).Add("dangling", "true")
	is, err := cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: f})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, im := range is.Items {
		if match(im.Labels) {
			if _, err := cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{PruneChildren: true}); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// dockerCluster is one cluster's containers and network.
type dockerCluster struct {
	d      *Docker
	c      *Cluster
	net    *testcontainers.DockerNetwork
	driver testcontainers.Container
	nodes  map[string]testcontainers.Container
	// gateway relays the nodes' connections to this host's services, through
	// relay (gateway.go); nil when the cluster has none.
	gateway testcontainers.Container
	relay   *relay
	// names are the containers' names, known before they start, so that a
	// node fault can reach a node whose readiness wait is still under way.
	names   map[string]string
	mu      sync.Mutex
	closed  bool
	collect sync.Once
}

// lineConsumer passes a container's output line by line to a function.
type lineConsumer struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (l *lineConsumer) Accept(m testcontainers.Log) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, m.Content...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return
		}
		l.line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

// start builds (or reuses) the image, makes the run's network, starts the
// driver, waits for it to listen, then starts every node.
func (d *Docker) start(ctx context.Context, c *Cluster, secret []byte, o Options) (dc *dockerCluster, err error) {
	image, err := d.Image(ctx)
	if err != nil {
		return nil, err
	}
	made := &dockerCluster{d: d, c: c, nodes: map[string]testcontainers.Container{}, names: map[string]string{}}
	dc = made
	defer func() {
		if err != nil {
			_ = made.close() // a return has set dc to nil
		}
	}()
	dc.net, err = network.New(ctx, network.WithLabels(d.labels()))
	if err != nil {
		return nil, fmt.Errorf("%w: create network: %s", ErrInfra, firstLine(err.Error()))
	}
	for _, n := range append(Nodes(c.spec), driverHost, GatewayHost) {
		dc.names[n] = fmt.Sprintf("faultbook-%s-%s-%s", d.run, shortID(), n)
	}
	// From here on node faults can act: they address containers by name.
	c.dk = dc
	c.faults.markReady()
	// The services come first: the driver may use one as it starts.
	if err := dc.startGateway(ctx, image, o.Services, o.StartTimeout); err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, kv := range o.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	env[spec.SecretEnv] = wire.EncodeSecret(secret)
	addrc, onLine := c.driverLines()
	dc.driver, err = dc.container(ctx, image, driverHost, "driver.log", env, o.StartTimeout,
		[]string{"driver", "--run-dir", c.dir, "--host", driverHost}, wait.ForLog(ListeningPrefix),
		onLine)
	if err != nil {
		return nil, err
	}
	var addr string
	select {
	case addr = <-addrc:
		c.addr = addr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(Nodes(c.spec)))
	for i, node := range Nodes(c.spec) {
		wg.Go(func() {
			ctr, err := dc.container(ctx, image, node, WorkerLogPrefix+node+".log", env, o.StartTimeout,
				[]string{"node", "--run-dir", c.dir, "--driver", addr, "--node", node, "--host", node, "--app", c.app},
				wait.ForLog("Successfully registered with driver"), nil)
			dc.mu.Lock()
			if ctr != nil {
				dc.nodes[node] = ctr
			}
			dc.mu.Unlock()
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return dc, nil
}

// container starts one container of the run: on its network under its host
// name, the run directory mounted at the same path, as this process's user.
// When its wait fails, its log is written before the error returns.
func (dc *dockerCluster) container(ctx context.Context, image, host, logName string, env map[string]string, timeout time.Duration,
	cmd []string, ready *wait.LogStrategy, onLine func(string)) (testcontainers.Container, error) {
	req := testcontainers.GenericContainerRequest{Started: true, Logger: tclog.NewNoopLogger(), ContainerRequest: testcontainers.ContainerRequest{
		Image: image, Cmd: cmd, Env: env, Labels: dc.d.labels(), Name: dc.names[host],
		Networks: []string{dc.net.Name}, NetworkAliases: map[string][]string{dc.net.Name: {host}},
		// A container takes seconds to start on a loaded machine, not the
		// milliseconds of a process.
		WaitingFor: ready.WithStartupTimeout(max(timeout, 30*time.Second)),
		ConfigModifier: func(cfg *container.Config) {
			cfg.Hostname = host
			cfg.User = dc.user()
		},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.Binds = []string{dc.c.dir + ":" + dc.c.dir}
		},
	}}
	if onLine != nil {
		req.LogConsumerCfg = &testcontainers.LogConsumerConfig{Consumers: []testcontainers.LogConsumer{&lineConsumer{line: onLine}}}
	}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	if ctr != nil {
		dc.saveLog(ctr, logName)
	}
	if err != nil {
		if ctr != nil {
			dc.remove(ctr)
		}
		return nil, fmt.Errorf("%w: start %s container: %s (its log: %s)", ErrInfra, host, firstLine(err.Error()), filepath.Join(dc.c.dir, logName))
	}
	return ctr, nil
}

// user is this process's user, whom every container runs as: what they
// write into the run directory is the harness's to read and remove.
func (dc *dockerCluster) user() string { return fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()) }

var idMu sync.Mutex
var idN int

func shortID() string {
	idMu.Lock()
	defer idMu.Unlock()
	idN++
	return fmt.Sprint(idN)
}

// saveLog writes a container's whole output (stdout and stderr) into the run
// directory; called when a wait fails and once the container has ended.
func (dc *dockerCluster) saveLog(ctr testcontainers.Container, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil && len(b) == 0 {
		return
	}
	_ = os.WriteFile(filepath.Join(dc.c.dir, name), b, 0o644)
}

func (dc *dockerCluster) remove(ctr testcontainers.Container) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, _ = dc.d.cli.ContainerRemove(ctx, ctr.GetContainerID(), client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// exitOf waits for a container to stop and returns its exit status.
func (dc *dockerCluster) exitOf(ctx context.Context, ctr testcontainers.Container) (proc.Exit, error) {
	w := dc.d.cli.ContainerWait(ctx, ctr.GetContainerID(), client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-w.Result:
		code := int(r.StatusCode)
		if code > 128 {
			return proc.Exit{Code: -1, Signal: signalOf(code - 128), Signum: code - 128}, nil
		}
		return proc.Exit{Code: code}, nil
	case err := <-w.Error:
		return proc.Exit{}, err
	case <-ctx.Done():
		return proc.Exit{}, ctx.Err()
	}
}

func signalOf(n int) string {
	switch n {
	case 9:
		return "SIGKILL"
	case 15:
		return "SIGTERM"
	case 2:
		return "SIGINT"
	}
	return fmt.Sprintf("SIG%d", n)
}

// wait waits for the driver container to end, then for every node container
// (each finishes its executors and writes what they did), and collects.
func (dc *dockerCluster) wait(ctx context.Context) (*Outcome, error) {
	dexit, err := dc.exitOf(ctx, dc.driver)
	if err != nil {
		return nil, fmt.Errorf("wait for driver: %w", err)
	}
	dc.c.faults.revert()
	var runs []ExecutorRun
	grace, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	added := map[int]string{}
	if evs, err := events.Read(filepath.Join(dc.c.dir, events.FileName)); err == nil {
		for _, e := range evs {
			if e.Kind == events.ExecutorAdded {
				added[e.Executor] = e.Node
			}
		}
	}
	for _, node := range Nodes(dc.c.spec) {
		ctr := dc.nodes[node]
		nexit, err := dc.exitOf(grace, ctr)
		if err != nil {
			dc.remove(ctr)
			nexit = proc.Exit{Code: -1, Signal: "SIGKILL", Signum: 9}
		}
		var nr []ExecutorRun
		b, rerr := os.ReadFile(filepath.Join(dc.c.dir, NodeResultPrefix+node+".json"))
		if rerr == nil && json.Unmarshal(b, &nr) == nil {
			runs = append(runs, nr...)
			continue
		}
		// The node died with its executors (node-kill): each ended with the
		// container, as the container did.
		for id, n := range added {
			if n == node {
				runs = append(runs, ExecutorRun{ID: id, Node: node, Exit: nexit})
			}
		}
	}
	dc.saveLogs()
	return dc.c.collect(dexit, runs), nil
}

// saveLogs writes every container's output into the run directory, once.
func (dc *dockerCluster) saveLogs() {
	dc.collect.Do(func() {
		dc.saveLog(dc.driver, "driver.log")
		for node, ctr := range dc.nodes {
			dc.saveLog(ctr, WorkerLogPrefix+node+".log")
		}
		if dc.gateway != nil {
			dc.saveLog(dc.gateway, "gateway.log")
		}
	})
}

// close removes the cluster's containers and network; safe twice.
func (dc *dockerCluster) close() error {
	dc.mu.Lock()
	if dc.closed {
		dc.mu.Unlock()
		return nil
	}
	dc.closed = true
	dc.mu.Unlock()
	if dc.driver != nil {
		dc.saveLogs()
	}
	if dc.relay != nil {
		dc.relay.close()
	}
	var wg sync.WaitGroup
	if dc.driver != nil {
		wg.Go(func() { dc.remove(dc.driver) })
	}
	if dc.gateway != nil {
		wg.Go(func() { dc.remove(dc.gateway) })
	}
	for _, ctr := range dc.nodes {
		wg.Go(func() { dc.remove(ctr) })
	}
	wg.Wait()
	if dc.net != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := dc.net.Remove(ctx); err != nil {
			return fmt.Errorf("remove network %s: %w", dc.net.Name, err)
		}
	}
	return nil
}

// killDriver sends SIGKILL to the driver's container's process.
func (dc *dockerCluster) killDriver() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := dc.d.cli.ContainerKill(ctx, dc.names[driverHost], client.ContainerKillOptions{Signal: "SIGKILL"})
	return err
}

// nodeContainer is a node's container name, or "".
func (dc *dockerCluster) nodeContainer(node string) string {
	return dc.names[node]
}
