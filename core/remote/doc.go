// Package remote plays the engine's roles over the network, so a TwiG run
// can think, paint and critique with models twig does not embed:
//
//   - Thinker and Critic over OpenAI-compatible chat completions (text and
//     image_url data-URL parts; the thinker streams with stream: true, one
//     SSE delta a thought token);
//   - EditPainter over OpenAI-compatible image edits: one band a call, the
//     canvas so far as the image and a mask that is transparent over the
//     band's rows; the answer is read back into image tokens;
//   - TwigCaller over a twig gateway's model calls (POST /v1/calls, as
//     `twig serve` and the edge worker speak them): any role.
//
// NewBackend mixes them with the embedded model role by role. Every request
// is bounded by a per-call timeout, a per-run deadline and a response size
// cap; 429 and 5xx answers are retried with exponential backoff, honouring
// Retry-After; errors name the role and the upstream host (*Error). API keys
// are Secrets: they print as [redacted] and are scrubbed from upstream error
// text.
//
// The prompts are text/template templates in twig's own words (templates.tmpl);
// LoadTemplates overrides any of them from a file. RATIONALE.md says why the
// big choices were made.
package remote
