## graph: filled by the graph work (issue 4)
