package demo_test

import (
	"fmt"
	"time"

	"github.com/kpiflow/kpiflow/pkg/demo"
)

// A test computes the answer it expects from the typed rows, here the
// change failure rate as DESIGN.md defines it: production deployments linked
// to an incident over all production deployments.
func ExampleGenerate() {
	ds := demo.Generate(demo.Options{Seed: 1, Days: 30, Now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)})
	caused := map[string]bool{}
	for _, inc := range ds.Incidents {
		caused[inc.CausedByDeployment] = true
	}
	prod, failed := 0, 0
	for _, d := range ds.Deployments {
		if d.Environment == "production" {
			prod++
			if caused[d.DeploymentID] {
				failed++
			}
		}
	}
	fmt.Printf("%d teams, %d production deployments, change failure rate %.2f\n", len(ds.Projects), prod, float64(failed)/float64(prod))
	// Output: 6 teams, 691 production deployments, change failure rate 0.13
}
