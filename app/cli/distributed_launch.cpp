// SPDX-License-Identifier: MIT
#include "distributed_launch.h"

#include "common/error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

namespace qat::cli {

namespace {

std::string environment(const char* name)
{
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

int wholeNumber(const std::string& text, const std::string& what)
{
    const auto value = parseInteger(text);
    if (!value || *value < 0 || *value > 1000000) {
        throw UsageError(what + ": '" + text + "' is not a whole number");
    }
    return int(*value);
}

// A TCP port on the loopback that nothing listens on right now (the kernel picks it).
int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw Error(std::string("cannot open a socket: ") + std::strerror(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0
                    && ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(fd);
    if (!ok) {
        throw Error(std::string("cannot find a free loopback port: ") + std::strerror(errno));
    }
    return ntohs(address.sin_port);
}

std::vector<pid_t> g_children;

extern "C" void forwardSignal(int signal)
{
    for (const pid_t child : g_children) {
        if (child > 0) {
            ::kill(child, signal);
        }
    }
}

int exitCode(int status)
{
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

} // namespace

train::DistributedOptions distributedOptions(const Arguments& a)
{
    train::DistributedOptions o;
    const auto world = a.value("--world-size", environment("WORLD_SIZE"));
    const auto rank = a.value("--rank", environment("RANK"));
    if (!world.empty()) o.worldSize = wholeNumber(world, "--world-size");
    if (!rank.empty()) o.rank = wholeNumber(rank, "--rank");
    if (o.worldSize < 1) throw UsageError("--world-size must be at least 1");
    if (o.rank >= o.worldSize) {
        throw UsageError("--rank " + std::to_string(o.rank) + " is not below --world-size " + std::to_string(o.worldSize));
    }
    std::string host = environment("MASTER_ADDR");
    std::string port = environment("MASTER_PORT");
    if (const auto master = a.value("--master"); !master.empty()) {
        const auto colon = master.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == master.size()) {
            throw UsageError("--master must be HOST:PORT, e.g. 10.0.0.1:29500");
        }
        host = master.substr(0, colon);
        port = master.substr(colon + 1);
    }
    if (!host.empty()) o.masterAddress = host;
    if (!port.empty()) o.masterPort = wholeNumber(port, "the master port");
    if (o.masterPort < 1 || o.masterPort > 65535) throw UsageError("the master port must be 1-65535");
    o.timeoutSeconds = int(a.integer("--dist-timeout", o.timeoutSeconds));
    if (o.timeoutSeconds < 1) throw UsageError("--dist-timeout must be at least 1 second");
    return o;
}

int launchLocalRanks(int ranks, const std::vector<std::string>& args, int timeoutSeconds)
{
    if (ranks < 1) {
        throw UsageError("--local-ranks must be at least 1");
    }
    std::vector<std::string> common{"train"};
    bool threadsGiven = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const auto& arg = args[i];
        if (arg == "--local-ranks") {
            ++i; // and its value
            continue;
        }
        if (arg.rfind("--local-ranks=", 0) == 0) {
            continue;
        }
        threadsGiven = threadsGiven || arg == "--threads" || arg.rfind("--threads=", 0) == 0;
        common.push_back(arg);
    }
    const int port = freeLoopbackPort();
    if (!threadsGiven) {
        const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
        common.push_back("--threads");
        common.push_back(std::to_string(std::max(1, cores / ranks)));
    }
    std::cerr << "starting " << ranks << " ranks on 127.0.0.1:" << port << "\n";
    g_children.assign(size_t(ranks), 0);
    for (int r = 0; r < ranks; ++r) {
        auto argv = common;
        for (const std::string& extra : {std::string("--world-size"), std::to_string(ranks), std::string("--rank"),
                                         std::to_string(r), std::string("--master"),
                                         "127.0.0.1:" + std::to_string(port)}) {
            argv.push_back(extra);
        }
        std::vector<char*> cargv{const_cast<char*>("qatwb")};
        for (auto& s : argv) {
            cargv.push_back(s.data());
        }
        cargv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) {
            forwardSignal(SIGKILL);
            throw Error(std::string("cannot start rank ") + std::to_string(r) + ": " + std::strerror(errno));
        }
        if (pid == 0) {
            ::execv("/proc/self/exe", cargv.data());
            std::cerr << "rank " << r << ": cannot run /proc/self/exe: " << std::strerror(errno) << "\n";
            ::_exit(127);
        }
        g_children[size_t(r)] = pid;
    }
    // Ctrl-C reaches the ranks through the terminal's process group; a signal sent to this
    // process alone is passed on, so the ranks stop together and rank 0 records it.
    std::signal(SIGINT, forwardSignal);
    std::signal(SIGTERM, forwardSignal);

    std::vector<int> codes(size_t(ranks), -1);
    int running = ranks;
    int firstFailure = 0;
    std::chrono::steady_clock::time_point failedAt;
    bool terminated = false;
    while (running > 0) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno != EINTR) {
            break;
        }
        if (pid <= 0) {
            // Once a rank has failed the others notice (their collectives fail) and stop; one
            // that has not within the timeout is stopped here.
            if (firstFailure != 0) {
                const auto waited = std::chrono::steady_clock::now() - failedAt;
                if (!terminated && waited > std::chrono::seconds(timeoutSeconds + 5)) {
                    forwardSignal(SIGTERM);
                    terminated = true;
                } else if (terminated && waited > std::chrono::seconds(timeoutSeconds + 15)) {
                    forwardSignal(SIGKILL);
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        const auto found = std::find(g_children.begin(), g_children.end(), pid);
        if (found == g_children.end()) {
            continue;
        }
        const auto r = size_t(found - g_children.begin());
        *found = 0;
        --running;
        codes[r] = exitCode(status);
        if (codes[r] != 0 && firstFailure == 0) {
            firstFailure = codes[r];
            failedAt = std::chrono::steady_clock::now();
            if (r != 0) {
                std::cerr << "rank " << r << " exited with code " << codes[r] << "; stopping the others\n";
            }
        }
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    return codes[0] != 0 ? codes[0] : firstFailure;
}

} // namespace qat::cli
