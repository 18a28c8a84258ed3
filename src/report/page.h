/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The HTML page of `coreheap report`: the template (src/report/page.html
 * and page.js, made a C string at build time by embed.sh) with the model
 * of report/page_model.h in a <script type="application/json"> element.
 */
#ifndef COREHEAP_PAGE_H
#define COREHEAP_PAGE_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"

/** The template and its script (page_template.c, generated). */
extern const char ch_page_html[];
extern const char ch_page_js[];

/**
 * Write the page holding json (len bytes, a JSON document) to stream.
 * Every '<' in the JSON (only ever in a string) is written as \u003c, so
 * that nothing in it can close the script element that holds it.
 */
struct ch_error *ch_page_write(FILE *stream, const char *json, size_t len);

#endif /* COREHEAP_PAGE_H */
