package model

// ReviewsPlans reports whether the model's thinker reviews its own plans
// (weights trained with reviews). A gateway lists the review role in its
// hello only then (rolecall.PlanReviewing), so clients review remotely
// exactly when a run on the server would.
func (m *Model) ReviewsPlans() bool { return m.canReview() }
