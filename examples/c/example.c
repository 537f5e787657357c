/*
 * stylemark from C: watermark an image, hide a mark and read it back, and paint a small
 * doodle with the built-in encoder. Needs no input files: the images are made here as raw
 * pixels. Build and run (see examples/c/README.md):
 *
 *   cargo build --release -p stylemark-c --all-targets   # or use the workspace build
 *   cc examples/c/example.c -Ibindings-c/include -Ltarget/release -lstylemark \
 *      -Wl,-rpath,$PWD/target/release -o stylemark-example
 *   ./stylemark-example
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stylemark.h"

/* Stops the program with the library's own explanation. */
static void check(StylemarkStatus status, const char *what) {
    if (status != STYLEMARK_STATUS_OK) {
        fprintf(stderr, "%s failed (status %d): %s\n", what, (int)status, stylemark_last_error());
        exit(1);
    }
}

static int write_file(const char *path, const StylemarkBuffer *buffer) {
    FILE *file = fopen(path, "wb");
    if (!file) return 0;
    size_t written = fwrite(buffer->data, 1, buffer->len, file);
    fclose(file);
    return written == buffer->len;
}

/* A photo-like RGB gradient with some texture, as raw pixels. */
static StylemarkImage gradient(uint8_t *pixels, uint32_t width, uint32_t height) {
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *p = pixels + 3 * (y * width + x);
            unsigned noise = (x * 7919u + y * 104729u) % 23u;
            p[0] = (uint8_t)(40 + x * 150 / width + noise);
            p[1] = (uint8_t)(60 + y * 120 / height + noise);
            p[2] = (uint8_t)(120 + (x ^ y) % 60);
        }
    StylemarkImage image = {0};
    image.pixels = pixels;
    image.width = width;
    image.height = height;
    image.channels = 3;
    return image;
}

int main(void) {
    printf("stylemark %s\n", stylemark_version());

    StylemarkEngineOptions engine_options;
    STYLEMARK_ENGINE_OPTIONS_INIT(&engine_options); /* cpu, built-in encoder */
    StylemarkEngine *engine = NULL;
    check(stylemark_engine_new(&engine_options, &engine), "stylemark_engine_new");

    uint32_t width = 512, height = 384;
    uint8_t *pixels = malloc((size_t)width * height * 3);
    StylemarkImage photo = gradient(pixels, width, height);

    /* 1. A visible, tiled, diagonal text watermark. */
    StylemarkOptions *text = stylemark_options_new();
    check(stylemark_options_set(text, "placement.position", "tile"), "set position");
    check(stylemark_options_set(text, "placement.rotation", "-30"), "set rotation");
    check(stylemark_options_set(text, "opacity", "0.4"), "set opacity");
    StylemarkBuffer watermarked = {0};
    check(stylemark_watermark_text(engine, &photo, "(c) stylemark", text, "png", &watermarked, NULL),
          "stylemark_watermark_text");
    write_file("watermarked.png", &watermarked);
    printf("watermarked.png: %zu bytes\n", watermarked.len);

    /* 2. An invisible mark in the watermarked image, then read back from it. */
    const uint8_t payload[4] = {0xc0, 0xff, 0xee, 0x42};
    StylemarkImage encoded = {0};
    encoded.encoded = watermarked.data;
    encoded.encoded_len = watermarked.len;
    StylemarkBuffer marked = {0};
    char *report = NULL;
    check(stylemark_mark_embed(engine, &encoded, payload, sizeof payload, "secret key", NULL, "jpeg:90",
                               &marked, &report),
          "stylemark_mark_embed");
    printf("marked.jpg: %zu bytes, %s\n", marked.len, report);
    write_file("marked.jpg", &marked);

    StylemarkImage marked_image = {0};
    marked_image.encoded = marked.data;
    marked_image.encoded_len = marked.len;
    StylemarkDetection detection;
    check(stylemark_mark_detect(engine, &marked_image, "secret key", &detection), "stylemark_mark_detect");
    printf("mark found: %s, payload ", detection.found ? "yes" : "no");
    for (size_t i = 0; i < detection.payload_len; i++) printf("%02x", detection.payload[i]);
    printf(", confidence %.2f\n", detection.confidence);

    /* 3. A tiny texture painted from the photo's style with the built-in encoder. */
    StylemarkOptions *doodle = stylemark_options_new();
    check(stylemark_options_set(doodle, "output_size", "[64, 48]"), "set output_size");
    check(stylemark_options_set(doodle, "method", "optimize"), "set method");
    check(stylemark_options_set(doodle, "phases", "1"), "set phases");
    check(stylemark_options_set(doodle, "iterations", "10"), "set iterations");
    check(stylemark_options_set(doodle, "random_seed", "1"), "set random_seed");
    StylemarkImage style = gradient(pixels, 96, 72);
    StylemarkBuffer painting = {0};
    check(stylemark_doodle(engine, &style, NULL, NULL, NULL, doodle, NULL, NULL, "png", &painting, NULL),
          "stylemark_doodle");
    write_file("painting.png", &painting);
    printf("painting.png: %zu bytes\n", painting.len);

    int ok = detection.found && detection.payload_len == 4 && memcmp(detection.payload, payload, 4) == 0;
    stylemark_buffer_free(&painting);
    stylemark_options_free(doodle);
    stylemark_buffer_free(&marked);
    stylemark_string_free(report);
    stylemark_buffer_free(&watermarked);
    stylemark_options_free(text);
    free(pixels);
    stylemark_engine_free(engine);
    return ok ? 0 : 2;
}
