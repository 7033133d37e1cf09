package main

import "github.com/spf13/cobra"

func newGateCmd() *cobra.Command   { return &cobra.Command{Use: "gate", Hidden: true} }
func newMatrixCmd() *cobra.Command { return &cobra.Command{Use: "matrix", Hidden: true} }
