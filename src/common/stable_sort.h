#pragma once
// std::stable_sort for element types aligned beyond what operator new guarantees (anything
// holding a bson_t, which libbson aligns to 128 bytes). libstdc++ 12's temporary buffer for
// stable_sort ignores over-alignment, so such elements would live at misaligned addresses
// (undefined behaviour, flagged by UBSan). Those are sorted through an index permutation.

#include <algorithm>
#include <cstddef>
#include <new>
#include <numeric>
#include <utility>
#include <vector>

namespace common {

template <class T, class Less>
void stable_sort(std::vector<T>& v, Less less) {
  if constexpr (alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    std::stable_sort(v.begin(), v.end(), less);
  } else {
    std::vector<size_t> order(v.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return less(v[a], v[b]); });
    std::vector<T> sorted;
    sorted.reserve(v.size());
    for (size_t i : order) sorted.push_back(std::move(v[i]));
    v.swap(sorted);
  }
}

}  // namespace common
