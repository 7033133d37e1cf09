package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/executor"
	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// nodeInputs reads what every node process needs: the run's spec and the
// cluster secret from the environment.
func nodeInputs(runDir string) (*spec.Spec, []byte, error) {
	if runDir == "" {
		return nil, nil, usageErrorf("--run-dir is required")
	}
	sp, err := spec.Read(filepath.Join(runDir, spec.FileName))
	if err != nil {
		return nil, nil, infraError(err)
	}
	secret, err := wire.DecodeSecret(os.Getenv(spec.SecretEnv))
	if err != nil || len(secret) == 0 {
		return nil, nil, infraError(fmt.Errorf("read cluster secret from %s: missing or malformed", spec.SecretEnv))
	}
	return sp, secret, nil
}

func newDriverCmd() *cobra.Command {
	var runDir, host string
	c := &cobra.Command{
		Use:    "driver",
		Short:  "run a minicluster driver (started by the harness)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sp, secret, err := nodeInputs(runDir)
			if err != nil {
				return err
			}
			log := nodelog.New(os.Stderr, slog.LevelInfo)
			ev, err := events.Create(filepath.Join(runDir, events.FileName))
			if err != nil {
				return infraError(err)
			}
			defer ev.Close()
			res, err := driver.Run(cmd.Context(), driver.Config{
				Spec: sp, App: fixtures.App(), Secret: secret, Events: ev, Log: log, Host: host, Dir: runDir,
				Listening: func(addr string) { fmt.Fprintln(cmd.OutOrStdout(), cluster.ListeningPrefix+addr) },
			})
			if err != nil {
				log.Error("Application could not run: "+err.Error(), "component", "SparkContext")
				return infraError(err)
			}
			b, _ := json.MarshalIndent(res, "", "  ")
			if err := os.WriteFile(filepath.Join(runDir, driver.ResultFile), b, 0o644); err != nil {
				return infraError(fmt.Errorf("write result: %w", err))
			}
			if res.Status != driver.Succeeded {
				return exitError{code: cluster.ExitJobFailed, err: errors.New(res.Error), quiet: true}
			}
			return nil
		},
	}
	c.Flags().StringVar(&runDir, "run-dir", "", "run directory holding spec.json")
	c.Flags().StringVar(&host, "host", "", "address to listen on (default 127.0.0.1)")
	return c
}

func newExecutorCmd() *cobra.Command {
	var (
		runDir, driverAddr, node, host string
		id, slots                      int
	)
	c := &cobra.Command{
		Use:    "executor",
		Short:  "run a minicluster executor (started by the harness)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sp, secret, err := nodeInputs(runDir)
			if err != nil {
				return err
			}
			if id <= 0 || driverAddr == "" || node == "" || slots <= 0 {
				return usageErrorf("--id, --driver, --node and --slots are required")
			}
			log := nodelog.New(os.Stderr, slog.LevelInfo)
			err = executor.Run(cmd.Context(), executor.Config{ID: id, Node: node, Slots: slots, DriverAddr: driverAddr, Host: host, Secret: secret, Spec: sp, App: fixtures.App(), Log: log})
			switch {
			case err == nil, errors.Is(err, context.Canceled):
				return nil
			case errors.Is(err, executor.ErrRefused):
				return exitError{code: cluster.ExitRefused, err: err, quiet: true}
			case errors.Is(err, executor.ErrDriverLost):
				return exitError{code: cluster.ExitJobFailed, err: err, quiet: true}
			}
			log.Error("Executor stopped: "+err.Error(), "component", "executor.CoarseGrainedExecutorBackend")
			return infraError(err)
		},
	}
	c.Flags().StringVar(&runDir, "run-dir", "", "run directory holding spec.json")
	c.Flags().StringVar(&driverAddr, "driver", "", "driver address host:port")
	c.Flags().StringVar(&node, "node", "", "node name")
	c.Flags().IntVar(&id, "id", 0, "executor id")
	c.Flags().IntVar(&slots, "slots", 0, "task slots")
	c.Flags().StringVar(&host, "host", "", "the node's address the block server listens on (default 127.0.0.1)")
	return c
}

// newNodeCmd runs a node's worker as the main process of its host (the
// node's container in the docker runtime): it registers with the driver,
// starts the node's executors, relaunches them as they die, and once the
// driver has ended writes how each one ended into the run directory.
func newNodeCmd() *cobra.Command {
	var runDir, driverAddr, node, host, app string
	c := &cobra.Command{
		Use:    "node",
		Short:  "run a minicluster node's worker (started by the docker runtime)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sp, secret, err := nodeInputs(runDir)
			if err != nil {
				return err
			}
			if driverAddr == "" || node == "" {
				return usageErrorf("--driver and --node are required")
			}
			ids, err := cluster.NodeIDs(sp, node)
			if err != nil {
				return usageErrorf("%v", err)
			}
			bin, err := os.Executable()
			if err != nil {
				return infraError(err)
			}
			ctx := cmd.Context()
			w, err := cluster.StartWorker(ctx, cluster.WorkerConfig{Node: node, App: app, Spec: sp, Dir: runDir, Binary: bin,
				Env: []string{spec.SecretEnv + "=" + wire.EncodeSecret(secret)}, Secret: secret, DriverAddr: driverAddr, Host: host,
				IDs: ids, AskDriver: true, Log: os.Stderr})
			if err != nil {
				return infraError(err)
			}
			defer w.Close()
			if err := w.LaunchPlanned(); err != nil {
				return infraError(err)
			}
			select {
			case <-w.Gone():
			case <-ctx.Done():
			}
			grace, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			b, _ := json.Marshal(w.Finish(grace))
			if err := os.WriteFile(filepath.Join(runDir, cluster.NodeResultPrefix+node+".json"), b, 0o644); err != nil {
				return infraError(fmt.Errorf("write node result: %w", err))
			}
			return nil
		},
	}
	c.Flags().StringVar(&runDir, "run-dir", "", "run directory holding spec.json")
	c.Flags().StringVar(&driverAddr, "driver", "", "driver address host:port")
	c.Flags().StringVar(&node, "node", "", "node name")
	c.Flags().StringVar(&host, "host", "", "the node's address its executors listen on")
	c.Flags().StringVar(&app, "app", "", "application id")
	return c
}

// newGatewayCmd runs the docker runtime's gateway container: it relays the
// nodes' connections to services on the harness's loopback (see
// cluster.ServeGateway), over connections the harness opens to it.
func newGatewayCmd() *cobra.Command {
	var ports []int
	c := &cobra.Command{
		Use:    "gateway",
		Short:  "relay the nodes' connections to the harness's services (started by the docker runtime)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			token := os.Getenv(cluster.GatewayTokenEnv)
			if token == "" {
				return usageErrorf("%s is required", cluster.GatewayTokenEnv)
			}
			err := cluster.ServeGateway(cmd.Context(), cluster.GatewayConfig{ControlPort: cluster.GatewayControlPort, Ports: ports, Token: token,
				Ready: func(net.Addr) { fmt.Fprintf(cmd.OutOrStdout(), "%s on %v\n", cluster.GatewayReady, ports) }})
			if err != nil {
				return infraError(err)
			}
			return nil
		},
	}
	c.Flags().IntSliceVar(&ports, "ports", nil, "service ports to listen on")
	return c
}
