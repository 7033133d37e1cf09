package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports"
)

func newReportCmd() *cobra.Command {
	var html, md, junit string
	c := &cobra.Command{
		Use:   "report RESULTS.json",
		Short: "re-render a saved run: HTML, markdown, JUnit (table on stdout)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("report takes one results file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := readResults(args[0])
			if err != nil {
				return err
			}
			for path, render := range map[string]func(io.Writer, *result.Results) error{html: reports.HTML, md: reports.Markdown, junit: reports.JUnit} {
				if path == "" {
					continue
				}
				if err := writeFileWith(path, func(w io.Writer) error { return render(w, res) }); err != nil {
					return infraError(err)
				}
			}
			return printResults(cmd.OutOrStdout(), res, "table")
		},
	}
	c.Flags().StringVar(&html, "html", "", "write the HTML report to this file")
	c.Flags().StringVar(&md, "md", "", "write the markdown report to this file")
	c.Flags().StringVar(&junit, "junit", "", "write the JUnit XML to this file")
	return c
}
