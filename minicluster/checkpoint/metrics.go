package checkpoint

// MetricsPath serves the store's throughput metrics as JSON, as EFS publishes
// BurstCreditBalance and PermittedThroughput to CloudWatch.
const MetricsPath = "/_faultbook/metrics"

// StoreMetrics is what MetricsPath answers.
type StoreMetrics struct {
	// Throttled is false for a store without a throughput model.
	Throttled bool `json:"throttled"`
	// BurstCreditBalance is in bytes; BaselineBps (at the current metered
	// size) and BurstBps in bytes per second of wall time.
	BurstCreditBalance float64 `json:"burst_credit_balance"`
	BaselineBps        float64 `json:"baseline_bps"`
	BurstBps           float64 `json:"burst_bps"`
	// MeteredBytes is the file system's metered size: the provisioned size
	// and the bytes stored through the store (EFS's MeteredIOBytes is the
	// nearest CloudWatch figure).
	MeteredBytes float64 `json:"metered_bytes"`
}
