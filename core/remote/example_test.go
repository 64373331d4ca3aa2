package remote_test

import (
	"fmt"

	"github.com/twig-project/twig/core/remote"
)

func ExampleParseCritique() {
	answer := "The square is there but too far left.\n\n**Score**: 6/10\n\nRevised description: a large blue square in the centre"
	p := remote.ParseCritique(answer)
	fmt.Println(p.Score, p.Parsed, p.Revision)

	p = remote.ParseCritique("```json\n{\"score\": null, \"revision\": \"keep it\"}\n```")
	fmt.Println(p.Score, p.Parsed, p.Revision)
	// Output:
	// 60 true a large blue square in the centre
	// 0 false keep it
}

func ExampleSecret() {
	ep := remote.Endpoint{BaseURL: "https://api.openai.com/v1", Model: "gpt-4.1-mini", APIKey: "sk-live-abc123"}
	fmt.Printf("%v\n%+v\n", ep.APIKey, ep)
	// Output:
	// [redacted]
	// {BaseURL:https://api.openai.com/v1 Model:gpt-4.1-mini APIKey:[redacted]}
}
