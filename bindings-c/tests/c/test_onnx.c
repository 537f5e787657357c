/*
 * A trained ONNX network as the encoder through the C API: by path and from bytes (the
 * same painting), every method, and a cut file failing clearly. Run by
 * bindings-c/tests/c_programs.rs with the MobileNetV2 that tests/onnx/make_reference.py
 * writes: test_onnx MODEL.onnx
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stylemark.h"
#include "checks.h"

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *file = fopen(path, "rb");
    CHECK(file != NULL, "cannot open %s", path);
    CHECK(fseek(file, 0, SEEK_END) == 0, "cannot seek in %s", path);
    long size = ftell(file);
    CHECK(size > 0 && fseek(file, 0, SEEK_SET) == 0, "cannot size %s", path);
    uint8_t *bytes = malloc((size_t)size);
    CHECK(bytes != NULL, "cannot allocate %ld bytes", size);
    CHECK(fread(bytes, 1, (size_t)size, file) == (size_t)size, "cannot read %s", path);
    fclose(file);
    *len = (size_t)size;
    return bytes;
}

/* A small picture: a dark disc on a gradient, with some texture. */
static uint8_t *picture(uint32_t width, uint32_t height, unsigned seed) {
    uint8_t *pixels = malloc((size_t)width * height * 3);
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *p = pixels + 3 * (y * width + x);
            int dx = (int)x - (int)width / 2, dy = (int)y - (int)height / 2;
            int inside = dx * dx + dy * dy < (int)(height * height) / 9;
            unsigned noise = (x * 7919u + y * 104729u + seed * 31u) % 37u;
            p[0] = (uint8_t)(inside ? 40 + noise : 60 + x * 150 / width + noise);
            p[1] = (uint8_t)(inside ? 30 + noise : 90 + y * 120 / height + noise);
            p[2] = (uint8_t)(inside ? 90 + noise : 200 - (x + y) % 60);
        }
    return pixels;
}

static StylemarkEngine *engine_with(const char *path, const uint8_t *bytes, size_t len,
                                    const char *weights_format) {
    StylemarkEngineOptions options;
    STYLEMARK_ENGINE_OPTIONS_INIT(&options);
    options.encoder = path;
    options.weights_format = weights_format;
    options.weights = bytes;
    options.weights_len = len;
    StylemarkEngine *engine = NULL;
    CHECK(stylemark_engine_new(&options, &engine) == STYLEMARK_STATUS_OK, "engine");
    return engine;
}

/* Paints the content in the style with `method` (and `style_layers` unless NULL); returns
   the PNG and checks the report names the ONNX encoder. */
static StylemarkBuffer paint_with(StylemarkEngine *engine, const char *method, const char *style_layers) {
    uint8_t *style_pixels = picture(64, 64, 1);
    uint8_t *content_pixels = picture(64, 48, 2);
    StylemarkImage style = raw(style_pixels, 64, 64);
    StylemarkImage content = raw(content_pixels, 64, 48);
    StylemarkOptions *options = stylemark_options_new();
    stylemark_options_set(options, "method", method);
    stylemark_options_set(options, "phases", "1");
    stylemark_options_set(options, "iterations", "4");
    stylemark_options_set(options, "random_seed", "5");
    if (style_layers != NULL)
        CHECK(stylemark_options_set(options, "style_layers", style_layers) == STYLEMARK_STATUS_OK,
              "style_layers %s", style_layers);
    StylemarkBuffer out = {0};
    char *report = NULL;
    StylemarkStatus status =
        stylemark_doodle(engine, &style, NULL, &content, NULL, options, NULL, NULL, NULL, &out, &report);
    CHECK(status == STYLEMARK_STATUS_OK, "%s painting returned %d", method, (int)status);
    CHECK(strstr(report, "onnx") != NULL, "the %s report names the ONNX encoder: %s", method, report);
    CHECK(out.len > 8 && memcmp(out.data, "\x89PNG", 4) == 0, "a PNG from %s", method);
    stylemark_string_free(report);
    stylemark_options_free(options);
    free(style_pixels);
    free(content_pixels);
    return out;
}

static StylemarkBuffer paint(StylemarkEngine *engine, const char *method) {
    return paint_with(engine, method, NULL);
}

static int same(const StylemarkBuffer *a, const StylemarkBuffer *b) {
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK(argc == 2, "usage: test_onnx MODEL.onnx");
    size_t len = 0;
    uint8_t *bytes = read_file(argv[1], &len);

    StylemarkEngine *by_path = engine_with(argv[1], NULL, 0, NULL);
    StylemarkEngine *by_bytes = engine_with(NULL, bytes, len, NULL);
    const char *methods[3] = {"optimize", "hybrid", "patch"};
    for (int i = 0; i < 3; i++) {
        StylemarkBuffer from_path = paint(by_path, methods[i]);
        StylemarkBuffer from_bytes = paint(by_bytes, methods[i]);
        CHECK(same(&from_path, &from_bytes), "%s: the same painting by path and from bytes", methods[i]);
        stylemark_buffer_free(&from_path);
        stylemark_buffer_free(&from_bytes);
        printf("ok %s\n", methods[i]);
    }

    /* Layers by the file's own names (stylemark info lists them): conv3_1 is the output
       Relu6__12:0 and conv4_1 the node Relu6__22, so this is the default painting. */
    StylemarkBuffer by_name = paint_with(by_path, "optimize", "Relu6__12:0,Relu6__22");
    StylemarkBuffer by_default = paint(by_path, "optimize");
    CHECK(same(&by_name, &by_default), "the file's names stand for the same layers");
    stylemark_buffer_free(&by_name);
    printf("ok layers by the file's names\n");
    StylemarkOptions *unknown = stylemark_options_new();
    CHECK(stylemark_options_set(unknown, "style_layers", "no_such_node") == STYLEMARK_STATUS_OK,
          "a name is resolved when the run starts");
    uint8_t *style_pixels = picture(64, 64, 1);
    StylemarkImage style_image = raw(style_pixels, 64, 64);
    StylemarkBuffer none = {0};
    StylemarkStatus refused =
        stylemark_doodle(by_path, &style_image, NULL, NULL, NULL, unknown, NULL, NULL, NULL, &none, NULL);
    CHECK(refused == STYLEMARK_STATUS_INVALID_OPTIONS, "an unknown layer returned %d", (int)refused);
    CHECK(strstr(stylemark_last_error(), "no_such_node") != NULL, "the error names it: %s",
          stylemark_last_error());
    stylemark_options_free(unknown);
    free(style_pixels);
    printf("ok an unknown layer name is refused\n");

    /* The input convention as the weights format: the same arithmetic spelled out paints
       the same, -1..1 paints otherwise. */
    StylemarkEngine *spelled = engine_with(NULL, bytes, len, "mean=0,0,0 std=1,1,1");
    StylemarkEngine *symmetric = engine_with(argv[1], NULL, 0, "symmetric");
    StylemarkBuffer from_spelled = paint(spelled, "optimize");
    StylemarkBuffer from_symmetric = paint(symmetric, "optimize");
    CHECK(same(&from_spelled, &by_default), "mean 0, std 1 is the default input");
    CHECK(!same(&from_symmetric, &by_default), "-1..1 input paints otherwise");
    stylemark_buffer_free(&from_spelled);
    stylemark_buffer_free(&from_symmetric);
    stylemark_buffer_free(&by_default);
    stylemark_engine_free(spelled);
    stylemark_engine_free(symmetric);
    printf("ok the input convention\n");
    stylemark_engine_free(by_path);
    stylemark_engine_free(by_bytes);

    /* A cut file is read on the first painting and fails there, saying why. */
    StylemarkEngine *cut = engine_with(NULL, bytes, len / 3, NULL);
    uint8_t *pixels = picture(64, 64, 1);
    StylemarkImage style = raw(pixels, 64, 64);
    StylemarkBuffer out = {0};
    StylemarkStatus status = stylemark_doodle(cut, &style, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &out, NULL);
    CHECK(status == STYLEMARK_STATUS_WEIGHTS, "a cut model returned %d", (int)status);
    CHECK(strstr(stylemark_last_error(), "ONNX") != NULL, "the error names ONNX: %s", stylemark_last_error());
    CHECK(out.data == NULL, "no image from a cut model");
    stylemark_engine_free(cut);
    free(pixels);
    free(bytes);
    printf("ok a cut model is refused\n");
    printf("all %d checks passed\n", checks);
    return 0;
}
