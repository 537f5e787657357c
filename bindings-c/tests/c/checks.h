/*
 * What the C test programs share: a check counter, CHECK (print the failed condition
 * and the library's last error, then exit 1), EXPECT_STATUS, and raw() for an image
 * of RGB pixels.
 */
#ifndef STYLEMARK_TEST_CHECKS_H
#define STYLEMARK_TEST_CHECKS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stylemark.h"

static int checks = 0;

#define CHECK(condition, ...)                                                          \
    do {                                                                               \
        checks++;                                                                      \
        if (!(condition)) {                                                            \
            fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #condition);     \
            fprintf(stderr, __VA_ARGS__);                                              \
            fprintf(stderr, " (last error: %s)\n", stylemark_last_error());            \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#define EXPECT_STATUS(call, expected, needle)                                          \
    do {                                                                               \
        StylemarkStatus got_ = (call);                                                 \
        CHECK(got_ == (expected), "%s returned %d, expected %d", #call, (int)got_,    \
              (int)(expected));                                                        \
        CHECK(strstr(stylemark_last_error(), (needle)) != NULL,                        \
              "the error of %s should mention \"%s\"", #call, (needle));               \
    } while (0)

static inline StylemarkImage raw(const uint8_t *pixels, uint32_t width, uint32_t height) {
    StylemarkImage image = {0};
    image.pixels = pixels;
    image.width = width;
    image.height = height;
    image.channels = 3;
    return image;
}

#endif
