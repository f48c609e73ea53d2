import numpy as np

from tinyad.quantize import arena_with_margin, dequantize, quantize_normalized, units_per_count


def test_input_quantization_rounds_half_to_even_and_saturates():
    q = quantize_normalized(np.array([0.5, 0.125, 0.375, 100.0, -100.0]), scale=0.25, zero_point=-3)
    # 0.5/0.25 = 2 -> -1; 0.5 -> 0 (half to even) -> -3; 1.5 -> 2 -> -1; saturation at both ends
    assert q.tolist() == [-1, -3, -1, 127, -128]


def test_dequantize_inverts_the_affine():
    assert dequantize(np.array([-3, 5], np.int8), 0.5, -3).tolist() == [0.0, 4.0]


def test_units_per_count_from_full_scale():
    upc = units_per_count(["ax", "gz"], {"accel_g": 2.0, "gyro_dps": 250.0})
    assert upc == [2.0 / 32768, 250.0 / 32768]


def test_arena_margin_rounds_up_to_a_kilobyte():
    assert arena_with_margin(20000) == 25600  # 25000 -> next multiple of 1024
    assert arena_with_margin(1024, margin=0.0) == 1024


def test_arena_margin_holds_the_esp_nn_scratch():
    assert arena_with_margin(20000, esp_nn_scratch=1000) == 25600  # the 25 % already holds it
    assert arena_with_margin(20000, esp_nn_scratch=6000) == 26624  # 26000 -> next multiple of 1024


def test_int8_drop_warning_names_clipping_at_the_full_scale():
    import numpy as np

    from tinyad.quantize import clipped_fraction, int8_drop_warnings

    x = np.array([[[0.5, 1.0], [9.8, 1.0]], [[0.2, 4.0], [0.1, -5.0]]], np.float32)  # (2 windows, 2, ax gz)
    clipped = clipped_fraction(x, ["ax", "gz"], {"accel_g": 4.0, "gyro_dps": 4.0})
    assert clipped == {"ax": 0.25, "gz": 0.5}
    float_m, int8_m = {"macro_f1": 0.78, "binary_f1": 0.9}, {"macro_f1": 0.50, "binary_f1": 0.88}
    (warning,) = int8_drop_warnings(float_m, int8_m, clipped, {"accel_g": 4.0})
    assert warning.startswith("int8 scores far below float (macro_f1 0.780 -> 0.500; more than 0.05)")
    assert "(1) test inputs beyond the sensor full scale are clipped (ax 25 %, gz 50 % of the samples; " \
           "full scale +-4 g / +-500 dps)" in warning
    assert int8_drop_warnings(float_m, {"macro_f1": 0.77, "binary_f1": 0.9}, clipped, {}) == []


def test_a_conversion_that_left_ops_in_float_is_converted_again():
    from tinyad.quantize import MAX_CONVERSIONS, convert_until_integer, float_op_warning

    # The TF converter at times leaves a float SPLIT between DEQUANTIZE/QUANTIZE (the Keras LSTM): try again.
    results = iter([b"float", b"float", b"integer", b"float"])
    calls = []

    def convert():
        calls.append(1)
        return next(results)

    ops = {b"float": ["FULLY_CONNECTED", "DEQUANTIZE", "SPLIT", "QUANTIZE"], b"integer": ["FULLY_CONNECTED", "SPLIT"]}
    assert convert_until_integer(convert, ops=ops.__getitem__) == b"integer" and len(calls) == 3
    # never integer: the last of `attempts` conversions, and a warning naming what is left in float
    calls.clear()
    results = iter([b"float"] * 3)
    assert convert_until_integer(convert, attempts=2, ops=ops.__getitem__) == b"float" and len(calls) == 2
    calls.clear()
    assert convert_until_integer(convert, attempts=0, ops=ops.__getitem__) == b"float" and len(calls) == 1
    assert float_op_warning(ops[b"float"]) == (
        f"the int8 model holds 1 DEQUANTIZE op(s) after {MAX_CONVERSIONS} conversions: part of it runs in float on "
        "the board (more flash, arena and time); re-run `tinyad quantize` or try another --model")
    assert float_op_warning(ops[b"integer"]) is None
