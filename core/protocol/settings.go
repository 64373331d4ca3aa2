package protocol

import (
	"encoding/json"
	"fmt"
)

// Settings control a run. It is a plain value: copy it, change the copy.
// DefaultSettings is the one place defaults live; decoding JSON starts from
// them, so a field left out of a message keeps its default.
type Settings struct {
	// Bands is the number of bands of the fixed schedule; 0 = the backend's default.
	Bands int `json:"bands"`
	// Adaptive lets a Decider (or the thinker) choose where bands start, row by row.
	Adaptive bool `json:"adaptive"`
	// Think makes the thinker write a thought before each band (default true).
	Think bool `json:"think"`
	// Reflect makes the critic score each band and trigger redraws (default true).
	Reflect bool `json:"reflect"`
	// Threshold is the score (0–100) below which a band is redrawn (default 90).
	Threshold int `json:"threshold"`
	// MaxRevisions is the number of redraws allowed per band (default 1).
	MaxRevisions int `json:"max_revisions"`
	// MaxThoughtTokens caps the thought tokens of the whole run; 0 = no cap.
	MaxThoughtTokens int `json:"max_thought_tokens"`
	// MaxRevisionsTotal caps the redraws of the whole run; 0 = no cap beyond MaxRevisions a band.
	MaxRevisionsTotal int `json:"max_revisions_total"`
	// Seed makes a run reproducible: same seed, model and kernels ⇒ same image.
	Seed int64 `json:"seed"`
	// PlanAttempts is how many plans a band may take when the run reflects
	// and the thinker reviews its own plans: the first and up to
	// PlanAttempts−1 rewrites of a plan it rejected; 0 = plans are not
	// reviewed (default 3).
	PlanAttempts int `json:"plan_attempts"`
	// PlanCandidates, when 2 or more (and plans are reviewed), has the
	// thinker write that many plans for a band, each from the same context,
	// review each, and keep the one it rates likeliest to be right (its
	// reported probability of "ok"); no plan is rewritten. 0 or 1 = one plan,
	// rewritten when rejected (PlanAttempts).
	PlanCandidates int `json:"plan_candidates,omitempty"`
}

// DefaultSettings returns the defaults: backend's bands, fixed schedule,
// think and reflect on, threshold 90, one revision a band, three plans a
// band when reviewed, no budgets, seed 0.
func DefaultSettings() Settings {
	return Settings{Think: true, Reflect: true, Threshold: 90, MaxRevisions: 1, PlanAttempts: DefaultPlanAttempts}
}

// UnmarshalJSON decodes settings, starting from DefaultSettings.
func (s *Settings) UnmarshalJSON(b []byte) error {
	type plain Settings
	p := plain(DefaultSettings())
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Settings(p)
	return nil
}

// DefaultPlanAttempts is the plans a band may take by default when reviewed.
const DefaultPlanAttempts = 3

// MaxPlanAttempts is the most plans a band may take.
const MaxPlanAttempts = 8

// MaxBands is the largest number of bands a setting may ask for (one a row).
const MaxBands = 16

// Validate reports the first setting out of range.
func (s Settings) Validate() error {
	switch {
	case s.Bands < 0 || s.Bands > MaxBands:
		return fmt.Errorf("settings: bands %d is out of range: use 0 (the model's default) to %d", s.Bands, MaxBands)
	case s.Threshold < 0 || s.Threshold > 100:
		return fmt.Errorf("settings: threshold %d is out of range: use 0 to 100", s.Threshold)
	case s.MaxRevisions < 0:
		return fmt.Errorf("settings: max_revisions %d is negative", s.MaxRevisions)
	case s.MaxThoughtTokens < 0:
		return fmt.Errorf("settings: max_thought_tokens %d is negative: use 0 for no cap", s.MaxThoughtTokens)
	case s.PlanAttempts < 0 || s.PlanAttempts > MaxPlanAttempts:
		return fmt.Errorf("settings: plan_attempts %d is out of range: use 0 (no plan reviews) to %d", s.PlanAttempts, MaxPlanAttempts)
	case s.PlanCandidates < 0 || s.PlanCandidates > MaxPlanAttempts:
		return fmt.Errorf("settings: plan_candidates %d is out of range: use 0 (one plan a band) to %d", s.PlanCandidates, MaxPlanAttempts)
	case s.MaxRevisionsTotal < 0:
		return fmt.Errorf("settings: max_revisions_total %d is negative: use 0 for no cap", s.MaxRevisionsTotal)
	}
	return nil
}
