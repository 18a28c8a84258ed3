## types: filled by the types work (issue 3)
