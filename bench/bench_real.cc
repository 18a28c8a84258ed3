// SPDX-License-Identifier: MIT
/*
 * The benchmark's realistic heap (make bench): about N live allocations
 * (argv[1], default 2,000,000) shaped like a real program's, which is what
 * DWARF propagation, the graph and the dominator tree meet in practice:
 *
 *   - typed C structs of four pointers (a chain, two random cross edges,
 *     and every eighth node a text blob it owns), reached from a global
 *     table, as the issue that asked for this benchmark measured;
 *   - a C++ object graph: polymorphic objects (vtables) with std::string
 *     names and std::vector children, indexed by a std::map and a
 *     std::unordered_map, with random cross references between them;
 *   - frees spread over every size (tcache, fastbins, small and large
 *     bins), and one node in a hundred more leaked (in pairs, with the
 *     blobs they own), so that `leaks` has something to say.
 *
 * Prints "ready" when the heap is built and waits to be dumped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_liveset.h"

struct blob {
	size_t len;
	char text[];
};

struct node {
	struct node *next;
	struct node *cross[2];
	struct blob *text;
};

class Shape {
public:
	explicit Shape(std::string name) : name_(std::move(name)) {}
	virtual ~Shape() = default;
	virtual double area() const = 0;
	std::string name_;
	std::vector<Shape *> children_;
	Shape *peer_ = nullptr;
};

class Circle : public Shape {
public:
	using Shape::Shape;
	double area() const override { return 3.14159 * r_ * r_; }
	double r_ = 1;
};

class Rect : public Shape {
public:
	using Shape::Shape;
	double area() const override { return w_ * h_; }
	double w_ = 1, h_ = 2;
	struct node *owner_ = nullptr;
};

// Globals: what a real program's roots look like (typed, so DWARF types
// flow from them through the heap).
struct node **node_table;
size_t node_count;
std::map<unsigned, Shape *> *shapes_by_id;
std::unordered_map<std::string, Shape *> *shapes_by_name;

static unsigned seed = 12345;

static unsigned next_random(void)
{
	seed = seed * 1103515245 + 12345;
	return seed >> 8;
}

static struct blob *make_blob(void)
{
	size_t len = 16 + next_random() % 240;
	struct blob *b = (struct blob *)malloc(sizeof(*b) + len);

	if (!b)
		abort();
	b->len = len;
	for (size_t i = 0; i < len; i++)
		b->text[i] = 'a' + (char)(next_random() % 26);
	return b;
}

// Its design.
static void write_design(size_t nodes, size_t shapes)
{
	char line[128];

	snprintf(line, sizeof(line), "# %zu nodes, %zu shapes\n", nodes, shapes);
	bench_write_liveset(line);
}

int main(int argc, char **argv)
{
	size_t target = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	// About 60% of the allocations are C nodes and blobs (1 + 1/8 each),
	// the rest the C++ graph (an object, its name, its children's array,
	// and the containers' nodes: about 4.5 each).
	size_t nodes = target * 6 / 10 * 8 / 9;
	size_t shapes = target * 4 / 10 * 2 / 9;

	node_table = (struct node **)calloc(nodes, sizeof(*node_table));
	if (!node_table)
		return 1;
	node_count = nodes;
	std::vector<void *> spare;
	for (size_t i = 0; i < nodes; i++) {
		struct node *n = (struct node *)calloc(1, sizeof(*n));

		if (!n)
			return 1;
		if (i % 8 == 0)
			n->text = make_blob();
		node_table[i] = n;
		// Allocations freed later, interleaved with live ones so that
		// the frees land in every bin.
		if (i % 50 == 0)
			spare.push_back(malloc(16 + next_random() % 1500));
	}
	for (size_t i = 0; i < nodes; i++) {
		struct node *n = node_table[i];

		n->next = i + 1 < nodes ? node_table[i + 1] : NULL;
		n->cross[0] = node_table[next_random() % nodes];
		n->cross[1] = node_table[next_random() % nodes];
	}

	shapes_by_id = new std::map<unsigned, Shape *>;
	shapes_by_name = new std::unordered_map<std::string, Shape *>;
	std::vector<Shape *> all;
	all.reserve(shapes);
	for (size_t i = 0; i < shapes; i++) {
		char name[64];

		// Long enough that std::string allocates.
		snprintf(name, sizeof(name), "shape-%zu-%08x-of-the-benchmark",
			 i, next_random());
		Shape *s;
		if (i % 3 == 0) {
			Rect *r = new Rect(name);
			r->owner_ = node_table[next_random() % nodes];
			s = r;
		} else {
			s = new Circle(name);
		}
		all.push_back(s);
		if (i % 2 == 0)
			(*shapes_by_id)[(unsigned)i] = s;
		else
			(*shapes_by_name)[s->name_] = s;
	}
	for (Shape *s : all) {
		unsigned kids = next_random() % 4;

		for (unsigned k = 0; k < kids; k++)
			s->children_.push_back(all[next_random() % all.size()]);
		s->peer_ = all[next_random() % all.size()];
	}

	for (void *p : spare)
		free(p);
	std::vector<void *>().swap(spare);
	// One node in a hundred more, leaked: linked to each other in pairs
	// (a cycle: one unreferenced, the rest indirect) and owning blobs,
	// and pointing into the live heap, but held by nothing live.
	struct node *previous = NULL;
	for (size_t i = 0; i < nodes / 100; i++) {
		struct node *n = (struct node *)calloc(1, sizeof(*n));

		if (!n)
			return 1;
		n->text = make_blob();
		n->cross[0] = node_table[next_random() % nodes];
		n->next = i % 2 ? previous : NULL;
		previous = n;
	}
	write_design(nodes, shapes);
	if (write(1, "ready\n", 6) != 6)
		return 1;
	for (;;)
		pause();
}
