// SPDX-License-Identifier: MIT
// Fuzz target: the whole pipeline on a core, as the commands run it: open
// the program (core, modules, address space), load the heap through the
// allocator plugins, type it, find the roots, build the reference graph
// and reach it from the roots; and what summary and triage say of the
// process (its signal, its command line from the stack). The input is the
// core. Debug info is not looked for, so that the glibc plugin finds
// main_arena by its shape.
#include <stdlib.h>
#include <string.h>

#include "core/process.h"
#include "fuzz_common.h"
#include "graph/dominators.h"
#include "heap/program.h"
#include "report/analysis.h"
#include "types/types.h"

// What `top` computes: dominators from the roots and retained sizes.
static struct ch_error *retained(const struct ch_graph *graph)
{
	struct ch_dominators dominators;
	uint64_t *sizes = NULL, total;
	uint32_t *roots;
	struct ch_error *err;

	roots = malloc((graph->num_root_refs + 1) * sizeof(*roots));
	if (!roots)
		return &ch_enomem;
	for (size_t r = 0; r < graph->num_root_refs; r++)
		roots[r] = graph->root_refs[r].target;
	err = ch_dominators_compute(graph->num_nodes, graph->edge_offsets,
				    graph->edge_targets, roots,
				    graph->num_root_refs, NULL, &dominators);
	free(roots);
	if (err)
		return err;
	err = ch_dominators_retained(&dominators, graph->blocks, &sizes,
				     &total);
	free(sizes);
	ch_dominators_deinit(&dominators);
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	// As the commands that type the heap open it: the modules' DWARF
	// loads beside the walk.
	struct ch_program_options options = {
		.search.debuginfo_path = "/nonexistent",
		.read_dwarf = true,
	};
	struct ch_analysis_options analysis_options = { .threads = 1 };
	struct ch_analysis analysis;
	struct ch_program *program;
	struct ch_command_line command_line;
	struct ch_signal signal;
	struct ch_error *err;
	uint32_t *root_of = NULL;
	volatile size_t sink = 0;

	if (!path)
		return 0;
	err = ch_program_open(path, &options, &program);
	if (err) {
		ch_error_destroy(err);
		return 0;
	}
	ch_core_signal(program->core, &signal);
	sink += signal.fault_address + (size_t)signal.sender_pid;
	err = ch_process_command_line(program->core, program->address_space,
				      &command_line);
	if (!err)
		sink += strlen(command_line.text);
	ch_command_line_deinit(&command_line);
	(void)sink;
	if (!err)
		err = ch_program_load_heap(program, &options);
	if (!err)
		err = ch_program_load_types(program);
	if (!err) {
		err = ch_analysis_init(&analysis, program, &analysis_options);
		if (!err) {
			err = ch_graph_reach(analysis.graph, NULL, &root_of);
			free(root_of);
			if (!err)
				err = retained(analysis.graph);
			ch_analysis_deinit(&analysis);
		}
	}
	ch_error_destroy(err);
	ch_program_destroy(program);
	return 0;
}
