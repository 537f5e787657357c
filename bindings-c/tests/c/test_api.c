/*
 * Exercises every function of the C API and its error paths; run by
 * bindings-c/tests/c_programs.rs natively and under valgrind memcheck. Prints one line per
 * check and exits non-zero on the first failure.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stylemark.h"
#include "checks.h"

static uint8_t *pixels_for(uint32_t width, uint32_t height) {
    uint8_t *pixels = malloc((size_t)width * height * 3);
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *p = pixels + 3 * (y * width + x);
            unsigned noise = (x * 7919u + y * 104729u) % 29u;
            p[0] = (uint8_t)(30 + x * 160 / width + noise);
            p[1] = (uint8_t)(50 + y * 140 / height + noise);
            p[2] = (uint8_t)(100 + (x * 3 + y * 5) % 70);
        }
    return pixels;
}

static StylemarkImage encoded(const StylemarkBuffer *buffer) {
    StylemarkImage image = {0};
    image.encoded = buffer->data;
    image.encoded_len = buffer->len;
    return image;
}

static StylemarkEngine *engine;

static void test_engine_and_version(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", STYLEMARK_VERSION_MAJOR, STYLEMARK_VERSION_MINOR,
             STYLEMARK_VERSION_PATCH);
    CHECK(strcmp(stylemark_version(), expected) == 0, "version %s", stylemark_version());

    StylemarkEngineOptions options;
    STYLEMARK_ENGINE_OPTIONS_INIT(&options);
    CHECK(options.struct_size == sizeof options, "init fills struct_size");
    StylemarkEngine *bad = NULL;
    EXPECT_STATUS(stylemark_engine_new(&options, NULL), STYLEMARK_STATUS_NULL_POINTER, "engine");
    options.device = "tpu";
    EXPECT_STATUS(stylemark_engine_new(&options, &bad), STYLEMARK_STATUS_INVALID_OPTIONS, "tpu");
    CHECK(bad == NULL, "no engine on failure");
    STYLEMARK_ENGINE_OPTIONS_INIT(&options);
    options.encoder = "/no/such/vgg19.safetensors";
    EXPECT_STATUS(stylemark_engine_new(&options, &bad), STYLEMARK_STATUS_WEIGHTS, "vgg19.safetensors");
    STYLEMARK_ENGINE_OPTIONS_INIT(&options);
    options.struct_size = 8;
    EXPECT_STATUS(stylemark_engine_new(&options, &bad), STYLEMARK_STATUS_INVALID_ARGUMENT, "struct_size");
    options.struct_size = sizeof options + 8;
    EXPECT_STATUS(stylemark_engine_new(&options, &bad), STYLEMARK_STATUS_INVALID_ARGUMENT, "newer");

    /* A program compiled against an older header, whose options end before the decoding
       limits: init writes only its bytes (the canary after them survives, and valgrind
       sees no write past them), and the engine takes the defaults for the rest. */
    struct {
        struct {
            size_t struct_size;
            const char *device;
            const char *encoder;
            const char *weights_format;
            const uint8_t *weights;
            size_t weights_len;
        } options;
        uint64_t canary;
    } older;
    older.canary = 0x5AFEC0DE5AFEC0DEull;
    stylemark_engine_options_init((StylemarkEngineOptions *)&older.options, sizeof older.options);
    CHECK(older.canary == 0x5AFEC0DE5AFEC0DEull, "init wrote past an older caller's struct");
    CHECK(older.options.struct_size == sizeof older.options, "struct_size %zu",
          older.options.struct_size);
    CHECK(strcmp(older.options.device, "cpu") == 0, "an older caller gets the defaults");
    StylemarkEngine *from_older = NULL;
    EXPECT_STATUS(stylemark_engine_new((const StylemarkEngineOptions *)&older.options, &from_older),
                  STYLEMARK_STATUS_OK, "");
    CHECK(from_older != NULL, "an engine for an older caller");
    stylemark_engine_free(from_older);

    /* The second version ended before the named limits: its decoding limits are read,
       the limits string keeps its default. */
    struct {
        struct {
            size_t struct_size;
            const char *device;
            const char *encoder;
            const char *weights_format;
            const uint8_t *weights;
            size_t weights_len;
            uint64_t max_pixels;
            uint64_t max_input_bytes;
        } options;
        uint64_t canary;
    } second;
    second.canary = 0x5AFEC0DE5AFEC0DEull;
    stylemark_engine_options_init((StylemarkEngineOptions *)&second.options, sizeof second.options);
    CHECK(second.canary == 0x5AFEC0DE5AFEC0DEull, "init wrote past a second-version struct");
    CHECK(second.options.max_pixels == 40000000u, "max_pixels %llu",
          (unsigned long long)second.options.max_pixels);
    second.options.max_pixels = 1000;
    EXPECT_STATUS(stylemark_engine_new((const StylemarkEngineOptions *)&second.options, &from_older),
                  STYLEMARK_STATUS_OK, "");
    stylemark_engine_free(from_older);

    /* Weights in memory are read on the first doodle: garbage fails there, clearly. */
    STYLEMARK_ENGINE_OPTIONS_INIT(&options);
    const uint8_t junk[16] = "not a weights!!";
    options.weights = junk;
    options.weights_len = sizeof junk;
    StylemarkEngine *from_bytes = NULL;
    EXPECT_STATUS(stylemark_engine_new(&options, &from_bytes), STYLEMARK_STATUS_OK, "");
    uint8_t style_pixels[3 * 16 * 16] = {0};
    StylemarkImage style = {0};
    style.pixels = style_pixels; style.width = 16; style.height = 16; style.channels = 3;
    StylemarkBuffer out = {0};
    EXPECT_STATUS(stylemark_doodle(from_bytes, &style, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_WEIGHTS, "weights");
    stylemark_engine_free(from_bytes);

    EXPECT_STATUS(stylemark_engine_new(NULL, &engine), STYLEMARK_STATUS_OK, "");
    CHECK(engine != NULL, "an engine");
    stylemark_engine_free(NULL);
    printf("ok engine and version\n");
}

static void test_text_and_logo(void) {
    uint8_t *pixels = pixels_for(200, 120);
    StylemarkImage image = raw(pixels, 200, 120);
    StylemarkOptions *options = stylemark_options_new();
    CHECK(stylemark_options_set(options, "opacity", "1") == STYLEMARK_STATUS_OK, "set");
    CHECK(stylemark_options_set(options, "placement.position", "north-west") == STYLEMARK_STATUS_OK, "set");
    CHECK(stylemark_options_set(options, "color", "#ff0000") == STYLEMARK_STATUS_OK, "set");
    EXPECT_STATUS(stylemark_options_set(options, NULL, "1"), STYLEMARK_STATUS_NULL_POINTER, "key");
    EXPECT_STATUS(stylemark_options_set(NULL, "a", "1"), STYLEMARK_STATUS_NULL_POINTER, "options");
    EXPECT_STATUS(stylemark_options_set(options, "a..b", "1"), STYLEMARK_STATUS_INVALID_ARGUMENT, "a..b");

    StylemarkBuffer out = {0};
    char *report = NULL;
    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "Hello", options, "png", &out, &report),
                  STYLEMARK_STATUS_OK, "");
    CHECK(out.len > 8 && memcmp(out.data, "\x89PNG", 4) == 0, "a PNG");
    CHECK(strstr(report, "applied") != NULL, "report %s", report);
    stylemark_string_free(report);
    stylemark_buffer_free(&out);
    CHECK(out.data == NULL && out.len == 0, "freed buffer is cleared");
    stylemark_buffer_free(&out); /* twice is fine */
    stylemark_string_free(NULL);

    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "Hi", options, "jpeg:70", &out, NULL),
                  STYLEMARK_STATUS_OK, "");
    CHECK(out.len > 3 && out.data[0] == 0xFF && out.data[1] == 0xD8, "a JPEG");
    stylemark_buffer_free(&out);

    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "Hi", options, "gif", &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "gif");
    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "Hi", options, "jpeg:0", &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "quality");
    EXPECT_STATUS(stylemark_watermark_text(NULL, &image, "Hi", options, NULL, &out, NULL),
                  STYLEMARK_STATUS_NULL_POINTER, "engine");
    EXPECT_STATUS(stylemark_watermark_text(engine, &image, NULL, options, NULL, &out, NULL),
                  STYLEMARK_STATUS_NULL_POINTER, "text");
    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "Hi", options, NULL, NULL, NULL),
                  STYLEMARK_STATUS_NULL_POINTER, "out_image");
    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "  ", options, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "empty");
    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "\xff\xfe", options, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_ARGUMENT, "UTF-8");
    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "\xe6\xbc\xa2", options, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "glyph");
    EXPECT_STATUS(stylemark_options_add_font_file(options, "/no/such/font.ttf"), STYLEMARK_STATUS_IO,
                  "font.ttf");

    StylemarkOptions *typo = stylemark_options_new();
    stylemark_options_set(typo, "opacty", "0.5");
    EXPECT_STATUS(stylemark_watermark_text(engine, &image, "Hi", typo, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "opacty");
    stylemark_options_free(typo);

    /* Images: corrupt bytes, bad stride, a pixel limit. */
    StylemarkBuffer garbage_bytes = {(uint8_t *)"not an image at all", 19};
    StylemarkImage garbage = encoded(&garbage_bytes);
    EXPECT_STATUS(stylemark_watermark_text(engine, &garbage, "Hi", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_IMAGE, "image");
    StylemarkImage strided = image;
    strided.stride = 10;
    EXPECT_STATUS(stylemark_watermark_text(engine, &strided, "Hi", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_ARGUMENT, "stride");
    StylemarkImage nothing = {0};
    EXPECT_STATUS(stylemark_watermark_text(engine, &nothing, "Hi", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_NULL_POINTER, "pixels");
    StylemarkEngineOptions small;
    STYLEMARK_ENGINE_OPTIONS_INIT(&small);
    small.max_pixels = 1000;
    StylemarkEngine *limited = NULL;
    CHECK(stylemark_engine_new(&small, &limited) == STYLEMARK_STATUS_OK, "limited engine");
    EXPECT_STATUS(stylemark_watermark_text(limited, &image, "Hi", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_LIMIT_EXCEEDED, "1000");
    stylemark_engine_free(limited);
    /* Any limit by name: a stamp of at most 10 pixels cannot hold "Hi". */
    STYLEMARK_ENGINE_OPTIONS_INIT(&small);
    small.limits = "max_tiled_marks=5, max_stamp_pixels=10";
    CHECK(stylemark_engine_new(&small, &limited) == STYLEMARK_STATUS_OK, "named limits");
    EXPECT_STATUS(stylemark_watermark_text(limited, &image, "Hi", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_LIMIT_EXCEEDED, "max_stamp_pixels");
    stylemark_engine_free(limited);
    small.limits = "max_stamp_pixel=1000";
    EXPECT_STATUS(stylemark_engine_new(&small, &limited), STYLEMARK_STATUS_INVALID_OPTIONS,
                  "max_stamp_pixels");
    small.limits = "max_job_steps=0";
    EXPECT_STATUS(stylemark_engine_new(&small, &limited), STYLEMARK_STATUS_INVALID_OPTIONS,
                  "at least 1");

    /* A logo, and one skipped because the image is below the minimum size. */
    uint8_t logo_pixels[4 * 10 * 6];
    for (size_t i = 0; i < sizeof logo_pixels; i += 4) {
        logo_pixels[i] = 0; logo_pixels[i + 1] = 0; logo_pixels[i + 2] = 255; logo_pixels[i + 3] = 255;
    }
    StylemarkImage logo = {0};
    logo.pixels = logo_pixels; logo.width = 10; logo.height = 6; logo.channels = 4;
    EXPECT_STATUS(stylemark_watermark_logo(engine, &image, &logo, NULL, NULL, &out, &report), STYLEMARK_STATUS_OK, "");
    CHECK(strstr(report, "applied") != NULL, "report %s", report);
    stylemark_string_free(report);
    stylemark_buffer_free(&out);
    StylemarkOptions *minimum = stylemark_options_new();
    stylemark_options_set(minimum, "min_width", "1000");
    EXPECT_STATUS(stylemark_watermark_logo(engine, &image, &logo, minimum, NULL, &out, &report), STYLEMARK_STATUS_OK, "");
    CHECK(strstr(report, "skipped") != NULL, "report %s", report);
    stylemark_string_free(report);
    stylemark_buffer_free(&out);
    stylemark_options_free(minimum);
    EXPECT_STATUS(stylemark_watermark_logo(engine, &image, NULL, NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_NULL_POINTER, "logo");

    stylemark_options_free(options);
    stylemark_options_free(NULL);
    free(pixels);
    printf("ok text and logo watermarks\n");
}

static void test_marks(void) {
    uint8_t *pixels = pixels_for(320, 256);
    StylemarkImage image = raw(pixels, 320, 256);
    const uint8_t payload[3] = {1, 2, 3};
    StylemarkBuffer marked = {0};
    char *report = NULL;
    EXPECT_STATUS(stylemark_mark_embed(engine, &image, payload, 3, "k", NULL, NULL, &marked, &report),
                  STYLEMARK_STATUS_OK, "");
    CHECK(strstr(report, "psnr_db") != NULL, "report %s", report);
    stylemark_string_free(report);

    StylemarkImage marked_image = encoded(&marked);
    StylemarkDetection detection;
    EXPECT_STATUS(stylemark_mark_detect(engine, &marked_image, "k", &detection), STYLEMARK_STATUS_OK, "");
    CHECK(detection.found && detection.payload_len == 3 && memcmp(detection.payload, payload, 3) == 0,
          "payload read back");
    EXPECT_STATUS(stylemark_mark_detect(engine, &marked_image, "wrong", &detection), STYLEMARK_STATUS_OK, "");
    CHECK(!detection.found && detection.payload_len == 0, "wrong key finds nothing");
    EXPECT_STATUS(stylemark_mark_detect(engine, &marked_image, "k", NULL), STYLEMARK_STATUS_NULL_POINTER, "out");

    const uint8_t long_payload[9] = {0};
    StylemarkBuffer out = {0};
    EXPECT_STATUS(stylemark_mark_embed(engine, &image, long_payload, 9, "k", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "1 to 8 bytes");
    EXPECT_STATUS(stylemark_mark_embed(engine, &image, payload, 3, "", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "key");
    EXPECT_STATUS(stylemark_mark_embed(engine, &image, NULL, 3, "k", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_NULL_POINTER, "payload");
    StylemarkImage small = raw(pixels, 100, 100);
    EXPECT_STATUS(stylemark_mark_embed(engine, &small, payload, 3, "k", NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_IMAGE, "too small");
    stylemark_buffer_free(&marked);
    free(pixels);
    printf("ok invisible marks\n");
}

struct progress_state { int calls; int cancel_after; };

static bool on_progress(void *user_data, const StylemarkProgress *progress) {
    struct progress_state *state = user_data;
    if (progress->heartbeat) return true; /* an evaluation running past a second */
    state->calls++;
    return !(progress->evaluation >= (uint32_t)state->cancel_after);
}

static bool stop_at_heartbeat(void *user_data, const StylemarkProgress *progress) {
    int *heartbeats = user_data;
    if (!progress->heartbeat) return true;
    (*heartbeats)++;
    return false;
}

static void test_doodle(void) {
    uint8_t *pixels = pixels_for(48, 36);
    StylemarkImage style = raw(pixels, 48, 36);
    StylemarkOptions *options = stylemark_options_new();
    stylemark_options_set(options, "output_size", "[32, 24]");
    stylemark_options_set(options, "method", "optimize");
    stylemark_options_set(options, "phases", "1");
    stylemark_options_set(options, "iterations", "6");
    stylemark_options_set(options, "random_seed", "3");
    struct progress_state state = {0, 2};
    StylemarkBuffer out = {0};
    char *report = NULL;
    EXPECT_STATUS(stylemark_doodle(engine, &style, NULL, NULL, NULL, options, on_progress, &state, NULL, &out, &report),
                  STYLEMARK_STATUS_OK, "");
    CHECK(state.calls == 2, "cancelled after 2 evaluations, got %d", state.calls);
    CHECK(strstr(report, "\"cancelled\"") != NULL, "report %s", report);
    CHECK(out.len > 8 && memcmp(out.data, "\x89PNG", 4) == 0, "the best image so far");
    stylemark_string_free(report);
    stylemark_buffer_free(&out);

    /* A time budget: the best image so far comes back, with the status saying so. */
    stylemark_options_set(options, "iterations", "100000");
    stylemark_options_set(options, "time_budget", "0.3");
    EXPECT_STATUS(stylemark_doodle(engine, &style, NULL, NULL, NULL, options, NULL, NULL, NULL, &out, &report),
                  STYLEMARK_STATUS_OK, "");
    CHECK(strstr(report, "\"time_budget_exhausted\"") != NULL, "report %s", report);
    CHECK(out.len > 8, "the best image so far");
    stylemark_string_free(report);
    stylemark_buffer_free(&out);

    /* One evaluation at a stride-1 layer takes long: the callback hears from it about once
       a second (a heartbeat), and false stops even that one. */
    uint8_t *large = pixels_for(256, 256);
    StylemarkImage painting = raw(large, 256, 256);
    StylemarkOptions *fine = stylemark_options_new();
    stylemark_options_set(fine, "method", "optimize");
    stylemark_options_set(fine, "phases", "1");
    stylemark_options_set(fine, "style_layers", "conv1_1");
    stylemark_options_set(fine, "time_budget", "30"); /* bounds a failure */
    int heartbeats = 0;
    EXPECT_STATUS(stylemark_doodle(engine, &painting, NULL, &painting, NULL, fine, stop_at_heartbeat,
                                   &heartbeats, NULL, &out, &report),
                  STYLEMARK_STATUS_OK, "");
    CHECK(heartbeats == 1, "stopped at the first heartbeat, got %d", heartbeats);
    CHECK(strstr(report, "\"cancelled\"") != NULL, "report %s", report);
    stylemark_string_free(report);
    stylemark_buffer_free(&out);
    stylemark_options_free(fine);
    free(large);

    stylemark_options_set(options, "output_size", "32x24");
    EXPECT_STATUS(stylemark_doodle(engine, &style, NULL, NULL, NULL, options, NULL, NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "output_size");
    stylemark_options_set(options, "output_size", "[32, 24]");
    stylemark_options_set(options, "phases", "0");
    EXPECT_STATUS(stylemark_doodle(engine, &style, NULL, NULL, NULL, options, NULL, NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "phases");
    EXPECT_STATUS(stylemark_doodle(engine, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_NULL_POINTER, "style");
    stylemark_options_free(options);

    free(pixels);
    printf("ok doodle\n");
}

/* A photo (here the style itself) painted with the photo options, keys as in the core.
   Patch synthesis, the default method, never opens the encoder's calibration, so this
   also runs under valgrind. */
static void test_painted_photo(void) {
    uint8_t *pixels = pixels_for(48, 36);
    StylemarkImage style = raw(pixels, 48, 36);
    StylemarkBuffer out = {0};
    char *report = NULL;
    StylemarkOptions *photo_options = stylemark_options_new();
    stylemark_options_set(photo_options, "strength", "0.5");
    stylemark_options_set(photo_options, "preserve_colors", "true");
    stylemark_options_set(photo_options, "random_seed", "3");
    EXPECT_STATUS(stylemark_doodle(engine, &style, NULL, &style, NULL, photo_options, NULL, NULL, NULL, &out, &report),
                  STYLEMARK_STATUS_OK, "");
    CHECK(strstr(report, "\"transfer\"") != NULL && strstr(report, "\"warnings\":[]") != NULL, "report %s", report);
    stylemark_string_free(report);
    stylemark_buffer_free(&out);
    stylemark_options_set(photo_options, "strength", "2");
    EXPECT_STATUS(stylemark_doodle(engine, &style, NULL, &style, NULL, photo_options, NULL, NULL, NULL, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "strength");
    stylemark_options_free(photo_options);
    free(pixels);
    printf("ok painted photo\n");
}

static void test_jobs(void) {
    StylemarkBuffer out = {0};
    char *report = NULL;
    uint8_t *photo_pixels = pixels_for(320, 256);
    StylemarkImage photo = raw(photo_pixels, 320, 256);
    const char *names[1] = {"photo"};
    const char *job =
        "{\"input\": \"photo\", \"steps\": ["
        "{\"op\": \"watermark_text\", \"text\": \"job\"},"
        "{\"op\": \"mark_embed\", \"payload\": \"0a0b\", \"key\": \"jk\"},"
        "{\"op\": \"mark_detect\", \"key\": \"jk\"}]}";
    EXPECT_STATUS(stylemark_run_job(engine, job, names, &photo, 1, &out, &report), STYLEMARK_STATUS_OK, "");
    CHECK(strstr(report, "\"found\":true") != NULL && strstr(report, "0a0b") != NULL, "report %s", report);
    CHECK(out.len > 0, "an image");
    stylemark_string_free(report);
    stylemark_buffer_free(&out);
    EXPECT_STATUS(stylemark_run_job(engine, "{\"steps\": []}", NULL, NULL, 0, &out, NULL),
                  STYLEMARK_STATUS_INVALID_OPTIONS, "job.steps");
    EXPECT_STATUS(stylemark_run_job(engine, job, NULL, NULL, 1, &out, NULL), STYLEMARK_STATUS_NULL_POINTER, "names");
    free(photo_pixels);
    printf("ok jobs\n");
}

/* Each thread fails with its own option name and must see its own error, while the
   engine is shared. */
static void *thread_body(void *arg) {
    long index = (long)arg;
    uint8_t *pixels = pixels_for(200, 120);
    StylemarkImage image = raw(pixels, 200, 120);
    char key[32];
    snprintf(key, sizeof key, "unknown_option_%ld", index);
    StylemarkOptions *options = stylemark_options_new();
    stylemark_options_set(options, key, "1");
    StylemarkOptions *good = stylemark_options_new();
    long failures = 0;
    for (int round = 0; round < 3; round++) {
        StylemarkBuffer out = {0};
        if (stylemark_watermark_text(engine, &image, "x", options, NULL, &out, NULL) != STYLEMARK_STATUS_INVALID_OPTIONS ||
            strstr(stylemark_last_error(), key) == NULL)
            failures++;
        if (stylemark_watermark_text(engine, &image, "ok", good, NULL, &out, NULL) != STYLEMARK_STATUS_OK ||
            stylemark_last_error()[0] != '\0')
            failures++;
        stylemark_buffer_free(&out);
    }
    stylemark_options_free(good);
    stylemark_options_free(options);
    free(pixels);
    return (void *)failures;
}

static void test_threads(void) {
    pthread_t threads[4];
    for (long i = 0; i < 4; i++) pthread_create(&threads[i], NULL, thread_body, (void *)i);
    for (int i = 0; i < 4; i++) {
        void *failures;
        pthread_join(threads[i], &failures);
        CHECK(failures == NULL, "thread %d saw %ld wrong results or errors", i, (long)failures);
    }
    printf("ok 4 threads, one engine, errors per thread\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0); /* progress lines appear as they happen */
    /* --skip-doodle: under valgrind, opening the built-in encoder (it calibrates itself on
       a test image) takes minutes; the doodle's C path is checked in the native run. */
    int skip_doodle = argc > 1 && strcmp(argv[1], "--skip-doodle") == 0;
    test_engine_and_version();
    test_text_and_logo();
    test_marks();
    if (!skip_doodle) test_doodle();
    test_painted_photo();
    test_jobs();
    test_threads();
    stylemark_engine_free(engine);
    printf("all %d checks passed\n", checks);
    return 0;
}
