package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	_ "github.com/faultbook/faultbook/minicluster/checkpoint/s3store" // the driver role checkpoints to s3://
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/role"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

func newDriverCmd() *cobra.Command {
	return roleCmd("driver", "run a minicluster driver (started by the harness)", func(cmd *cobra.Command, args []string) error {
		return role.Driver(cmd.Context(), args, cmd.OutOrStdout(), os.Stderr)
	})
}

func newExecutorCmd() *cobra.Command {
	return roleCmd("executor", "run a minicluster executor (started by the harness)", func(cmd *cobra.Command, args []string) error {
		return role.Executor(cmd.Context(), args, os.Stderr)
	})
}

// roleCmd is a hidden command running one role of a cluster process; the
// role parses its own flags, as in faultbook-node, which runs the same code.
func roleCmd(use, short string, run func(*cobra.Command, []string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Hidden: true, DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return fromRole(run(cmd, args))
		},
	}
}

// fromRole gives a role's error the exit code the role chose.
func fromRole(err error) error {
	var re *role.Error
	if errors.As(err, &re) {
		return exitError{code: re.Code, err: re.Err, quiet: re.Quiet}
	}
	return err
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
			sp, secret, err := role.Inputs(runDir)
			if err != nil {
				return fromRole(err)
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
