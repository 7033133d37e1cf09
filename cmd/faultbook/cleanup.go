package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/faultbook/faultbook/minicluster/cluster"
)

func newCleanupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "remove every container, network and image the docker runtime made (after a crash)",
		Long: `Remove every container, network and node image that a run with --runtime docker
made and left behind: everything labelled ` + cluster.LabelKey + `. A run removes what it made
itself, also on Ctrl-C; this is for a run that was killed.

Exit codes: 0 done, 3 no Docker engine answers or something could not be removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := cluster.Cleanup(cmd.Context())
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d container(s), %d network(s), %d image(s)\n", n.Containers, n.Networks, n.Images)
			if err != nil {
				return infraError(err)
			}
			return nil
		},
	}
}
