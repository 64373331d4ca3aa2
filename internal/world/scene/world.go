// Package scene is twig's synthetic compositional world: scenes of simple
// objects with exactly checkable attributes, the specs prompts mean, their
// random sampling and placement, and Render, which draws a scene as the
// embedded model's image tokens (package tokens). These are the teacher's
// pictures: the model is trained on them and the judge checks against them.
//
// The world is the embedded model's, not the engine's: the engine and the
// protocol import nothing under internal/world (docs/CANVAS.md).
package scene

import "fmt"

// Attribute vocabularies. The index of a word is its value in Object and Group.
var (
	Colors   = []string{"red", "green", "blue", "yellow", "purple", "orange"}
	Shapes   = []string{"circle", "square", "triangle", "diamond"}
	Sizes    = []string{"small", "large"}
	Textures = []string{"solid", "striped"}
)

// SizeCells is the side, in cells, of an object of each size.
var SizeCells = []int{3, 5}

// Any marks an attribute a prompt leaves open.
const Any = -1

// Object is one drawn object: attributes plus the cell of its bounding box's
// top-left corner. Objects are square-bounded: side SizeCells[Size].
type Object struct {
	Color, Shape, Size, Texture int
	X, Y                        int // cell column and row of the top-left corner
}

// Side returns the object's side length in cells.
func (o Object) Side() int { return SizeCells[o.Size] }

// Scene is what a picture holds.
type Scene struct {
	Objects []Object
}

// Relation kinds between two groups of a Spec.
const (
	Above = iota
	Below
	LeftOf
	RightOf
)

// RelationWords names each relation kind in its canonical form.
var RelationWords = []string{"above", "below", "left of", "right of"}

// Group is a set of Count objects that share the named attributes; an
// attribute equal to Any is left open. Shape is always named.
type Group struct {
	Count                       int
	Color, Shape, Size, Texture int
}

// Relation says every object of group A stands in Kind to every object of group B.
type Relation struct {
	A, B int // indices into Spec.Groups
	Kind int
}

// Categories of the benchmark, mirroring T2I-CompBench plus single objects.
var Categories = []string{"single", "color", "shape", "texture", "spatial", "numeracy", "complex"}

// Spec is the meaning of a prompt: the claims a picture must satisfy. A picture
// satisfies a Spec when every group is present with exactly its count, every
// relation holds, and no extra object matching a group's description appears.
type Spec struct {
	Category  string
	Groups    []Group
	Relations []Relation
}

// Matches reports whether object o fits the description of group g.
func (g Group) Matches(o Object) bool {
	return o.Shape == g.Shape &&
		(g.Color == Any || o.Color == g.Color) &&
		(g.Size == Any || o.Size == g.Size) &&
		(g.Texture == Any || o.Texture == g.Texture)
}

// String is a compact debugging form, e.g. "2×small red circle".
func (g Group) String() string {
	s := fmt.Sprintf("%d×", g.Count)
	if g.Size != Any {
		s += Sizes[g.Size] + " "
	}
	if g.Texture != Any {
		s += Textures[g.Texture] + " "
	}
	if g.Color != Any {
		s += Colors[g.Color] + " "
	}
	return s + Shapes[g.Shape]
}

// HeldOut lists colour–shape pairs that training never shows inside a
// multi-object scene; the benchmark's held-out split is made of them.
var HeldOut = [][2]int{{4, 3}, {5, 1}, {3, 0}} // purple diamond, orange square, yellow circle

// HeldOutBesideOthers reports whether objs are more than one object and
// one of them is a held-out colour–shape pair: a scene training must never
// show, not even as a mistake (a plan written wrong on purpose, a band drawn
// wrong), or the only multi-object scenes with those pairs that a model sees
// are wrong ones.
func HeldOutBesideOthers(objs []Object) bool {
	if len(objs) < 2 {
		return false
	}
	for _, o := range objs {
		if IsHeldOutPair(o.Color, o.Shape) {
			return true
		}
	}
	return false
}

// IsHeldOutPair reports whether colour c and shape s form a held-out pair.
func IsHeldOutPair(c, s int) bool {
	for _, p := range HeldOut {
		if p[0] == c && p[1] == s {
			return true
		}
	}
	return false
}
