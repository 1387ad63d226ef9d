// SPDX-License-Identifier: MIT
#include "distributed/communicator.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>

namespace qat::dist {

namespace {

bool isLoopback(const std::string& address)
{
    return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

// Which network device Gloo uses: GLOO_SOCKET_IFNAME (as in PyTorch) names an interface;
// a loopback master means a one-machine job; otherwise the address this host's name
// resolves to.
std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string& masterAddress)
{
    if (const char* name = std::getenv("GLOO_SOCKET_IFNAME"); name != nullptr && *name != '\0') {
        return c10d::ProcessGroupGloo::createDeviceForInterface(name);
    }
    if (isLoopback(masterAddress)) {
        return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    }
    return c10d::ProcessGroupGloo::createDefaultDevice();
}

std::string firstLineOf(const std::string& text)
{
    return text.substr(0, text.find('\n'));
}

} // namespace

std::pair<int64_t, int64_t> shardRange(int64_t n, int rank, int world)
{
    const int64_t base = n / world;
    const int64_t extra = n % world;
    const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
    return {begin, begin + base + (rank < extra ? 1 : 0)};
}

struct Communicator::Impl {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

Communicator::Communicator(const train::DistributedOptions& options)
    : m_rank(options.rank), m_world(options.worldSize), m_timeoutSeconds(options.timeoutSeconds)
{
    if (m_world < 1 || m_rank < 0 || m_rank >= m_world) {
        throw DistributedError("rank " + std::to_string(m_rank) + " does not exist in a world of size "
                               + std::to_string(m_world) + " (ranks are 0 to world size - 1)");
    }
    if (m_timeoutSeconds < 1) {
        throw DistributedError("the distributed timeout must be at least 1 second");
    }
    if (m_world == 1) {
        return;
    }
    if (options.masterPort < 1 || options.masterPort > 65535) {
        throw DistributedError("master port " + std::to_string(options.masterPort) + " is not a TCP port (1-65535)");
    }
    // Gloo writes to its sockets without MSG_NOSIGNAL: once a peer has died, the next write
    // would kill this process with SIGPIPE before any error could be reported. (Python
    // ignores SIGPIPE, which is why PyTorch never sees this.)
    std::signal(SIGPIPE, SIG_IGN);
    const auto timeout = std::chrono::milliseconds(int64_t(m_timeoutSeconds) * 1000);
    m_impl = std::make_unique<Impl>();
    const std::string where = options.masterAddress + ":" + std::to_string(options.masterPort);
    try {
        c10d::TCPStoreOptions storeOptions;
        storeOptions.port = uint16_t(options.masterPort);
        storeOptions.isServer = m_rank == 0;
        storeOptions.numWorkers = size_t(m_world);
        storeOptions.waitWorkers = false; // the process group's rendezvous waits for everyone
        storeOptions.timeout = timeout;
        m_impl->store = c10::make_intrusive<c10d::TCPStore>(options.masterAddress, storeOptions);
    } catch (const std::exception& e) {
        throw DistributedError("rank " + std::to_string(m_rank) + ": cannot " +
                               (m_rank == 0 ? "host the rendezvous at " : "reach rank 0's rendezvous at ") + where
                               + " (" + firstLineOf(e.what()) + "); check --master and that the port is free"
                               + (m_rank == 0 ? "" : " and rank 0 is running"));
    }
    try {
        auto groupOptions = c10d::ProcessGroupGloo::Options::create(timeout);
        groupOptions->devices.push_back(glooDevice(options.masterAddress));
        m_impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(m_impl->store, m_rank, m_world, groupOptions);
    } catch (const std::exception& e) {
        throw DistributedError("rank " + std::to_string(m_rank) + " of " + std::to_string(m_world)
                               + ": not every rank joined through " + where + " within "
                               + std::to_string(m_timeoutSeconds) + " s (" + firstLineOf(e.what())
                               + "); start all ranks with the same --world-size and --master");
    }
}

Communicator::~Communicator() = default;

void Communicator::check(const char* what, const std::exception& e) const
{
    throw DistributedError("rank " + std::to_string(m_rank) + " of " + std::to_string(m_world)
                           + ": lost contact with the other ranks while " + what
                           + " (another rank stopped, failed or did not answer within "
                           + std::to_string(m_timeoutSeconds) + " s): " + firstLineOf(e.what()));
}

void Communicator::allreduceGradients(const std::vector<at::Tensor>& params, std::vector<double>& sums)
{
    if (m_world == 1) {
        return;
    }
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> parts;
    parts.reserve(params.size() + 1);
    for (const auto& p : params) {
        parts.push_back(p.grad().defined() ? p.grad().reshape({-1}).to(at::kFloat)
                                           : at::zeros({p.numel()}, p.options().dtype(at::kFloat)));
    }
    parts.push_back(at::tensor(std::vector<double>(sums.begin(), sums.end()), at::kDouble).to(at::kFloat));
    std::vector<at::Tensor> buffer{at::cat(parts)};
    try {
        m_impl->group->allreduce(buffer)->wait();
    } catch (const std::exception& e) {
        check("averaging gradients", e);
    }
    const auto& flat = buffer.front();
    int64_t offset = 0;
    for (const auto& p : params) {
        const auto mean = flat.slice(0, offset, offset + p.numel()).div(double(m_world)).view(p.sizes()).to(p.scalar_type());
        offset += p.numel();
        if (p.grad().defined()) {
            p.mutable_grad().copy_(mean);
        } else {
            p.mutable_grad() = mean.clone();
        }
    }
    const auto extra = flat.slice(0, offset).to(at::kDouble).contiguous();
    std::copy(extra.data_ptr<double>(), extra.data_ptr<double>() + extra.numel(), sums.begin());
}

void Communicator::sum(std::vector<double>& values)
{
    if (m_world == 1 || values.empty()) {
        return;
    }
    std::vector<at::Tensor> buffer{at::tensor(values, at::kDouble)};
    try {
        m_impl->group->allreduce(buffer)->wait();
    } catch (const std::exception& e) {
        check("adding up results", e);
    }
    const auto& t = buffer.front();
    std::copy(t.data_ptr<double>(), t.data_ptr<double>() + t.numel(), values.begin());
}

bool Communicator::any(bool flag)
{
    if (m_world == 1) {
        return flag;
    }
    std::vector<double> v{flag ? 1.0 : 0.0};
    sum(v);
    return v.front() > 0;
}

void Communicator::broadcastFromLeader(const std::vector<at::Tensor>& tensors)
{
    if (m_world == 1 || tensors.empty()) {
        return;
    }
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> parts;
    for (const auto& t : tensors) {
        parts.push_back(t.detach().reshape({-1}).to(at::kDouble));
    }
    std::vector<at::Tensor> buffer{at::cat(parts)};
    try {
        m_impl->group->broadcast(buffer)->wait();
    } catch (const std::exception& e) {
        check("taking rank 0's parameters", e);
    }
    int64_t offset = 0;
    for (const auto& t : tensors) {
        auto target = t.detach();
        target.copy_(buffer.front().slice(0, offset, offset + t.numel()).view(t.sizes()));
        offset += t.numel();
    }
}

std::vector<at::Tensor> Communicator::allgather(const at::Tensor& tensor)
{
    if (m_world == 1) {
        return {tensor};
    }
    const auto flat = tensor.detach().reshape({-1}).contiguous();
    std::vector<double> sizes(size_t(m_world), 0.0);
    sizes[size_t(m_rank)] = double(flat.numel());
    sum(sizes);
    const auto longest = int64_t(*std::max_element(sizes.begin(), sizes.end()));
    auto padded = at::zeros({std::max<int64_t>(longest, 1)}, flat.options());
    padded.slice(0, 0, flat.numel()).copy_(flat);
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < m_world; ++r) {
        outputs[0].push_back(at::empty_like(padded));
    }
    std::vector<at::Tensor> inputs{padded};
    try {
        m_impl->group->allgather(outputs, inputs)->wait();
    } catch (const std::exception& e) {
        check("gathering calibration data", e);
    }
    std::vector<at::Tensor> result;
    for (int r = 0; r < m_world; ++r) {
        result.push_back(outputs[0][size_t(r)].slice(0, 0, int64_t(sizes[size_t(r)])));
    }
    return result;
}

} // namespace qat::dist
