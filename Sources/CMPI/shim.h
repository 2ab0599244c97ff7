#ifndef GRAFT_CMPI_SHIM_H
#define GRAFT_CMPI_SHIM_H
// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_DOUBLE, MPI_SUM, MPI_MAX, MPI_IN_PLACE, ...)
// are macros over addresses of library globals, which Swift cannot import. These static inline
// functions return them as values Swift can pass back to MPI.
#include <mpi.h>

static inline MPI_Comm graft_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype graft_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype graft_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype graft_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype graft_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype graft_mpi_int(void) { return MPI_INT; }
static inline MPI_Op graft_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op graft_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op graft_mpi_min(void) { return MPI_MIN; }
static inline void *graft_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int graft_mpi_success(void) { return MPI_SUCCESS; }
static inline int graft_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline MPI_Errhandler graft_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int graft_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
