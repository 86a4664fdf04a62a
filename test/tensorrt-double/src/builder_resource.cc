// Stands in for libnvinfer_builder_resource.so.<X.Y.Z>, the library the real libnvinfer opens
// by bare name when it creates a builder (see loadBuilderResource in double_entry.cc). It holds
// nothing but a marker the double's libnvinfer looks for, so that a wrong file is noticed.
extern "C" __attribute__((visibility("default"))) int tnrt_double_builder_resource() { return 1; }
