"""ESP-NN's convolution scratch, mirrored from esp-nn's esp_nn_get_conv_scratch_size_esp32s3, on tiny shapes
worked out by hand."""

from tinyad.check import CheckReport, esp_nn_s3_conv_scratch, same_padding


def test_same_padding_is_tflms_leading_pad():
    assert same_padding(64, 5, 2, 1, 32) == 1   # total 3: one before, two after
    assert same_padding(16, 3, 1, 1, 16) == 1
    assert same_padding(1, 1, 1, 1, 1) == 0
    assert same_padding(8, 3, 1, 2, 8) == 2     # dilation 2: an effective kernel of 5


def test_general_path_pads_the_input_and_aligns_filter_rows_to_16_channels():
    # (16 + 2) x 1 x 16 padded input, 3 x 1 x 16 x 16 filter, 32 alignment, 4 bytes per output channel
    assert esp_nn_s3_conv_scratch(16, 1, 16, 3, 1, 16, 1, 0, 1, 1) == 288 + 768 + 32 + 64
    # 6 channels round up to 16 in the filter; without padding no input copy
    assert esp_nn_s3_conv_scratch(64, 1, 6, 5, 1, 16, 0, 0, 2, 1) == 5 * 16 * 16 + 32 + 64


def test_pointwise_path_rounds_channels_to_8():
    # 1x1, stride 1, no pad, 6 channels: input copied at 8 channels, filter 8 x 4, transpose 2 * 8 * 8
    assert esp_nn_s3_conv_scratch(4, 4, 6, 1, 1, 4, 0, 0, 1, 1) == 16 * 8 + 8 * 4 + 128 + 32
    # 8 channels need no input copy; fewer than 8 pixels need no transpose buffer
    assert esp_nn_s3_conv_scratch(2, 3, 8, 1, 1, 4, 0, 0, 1, 1) == 8 * 4 + 32


def test_the_budget_verdict_names_what_does_not_fit():
    def report(flash, allocated):
        return CheckReport(flash_bytes=flash, arena_bytes=allocated - 1000, n_ops=1, ops={}, macs=0,
                           host_us_per_window=1.0, arena_bytes_allocated=allocated, flash_budget_bytes=30000,
                           arena_budget_bytes=20000)

    assert report(30000, 20000).over_budget == []  # at the budget fits
    assert report(30001, 20000).over_budget == ["flash 30,001 B > 30,000 B"]
    # the arena as the firmware allocates it (measured plus margin), not the host measure, must fit
    assert report(100, 20480).over_budget == ["arena as allocated 20,480 B > 20,000 B"]
    assert report(100, 20480).to_dict()["over_budget"] == ["arena as allocated 20,480 B > 20,000 B"]
