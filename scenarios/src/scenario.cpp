// scenario loader: in progress
