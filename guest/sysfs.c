// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/pvx: what PROBE found, one file per ABI feature, counters,
 * and a directory per guest feature module (pvx_sysfs_add_group()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/sysfs.h>

#include "compat.h"
#include "internal.h"

static struct kobject *pvx_kobj;

static ssize_t abi_version_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", PVX_ABI_VERSION);
}

static ssize_t host_abi_version_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	struct pvx_host h;

	pvx_host_snapshot(&h);
	return sysfs_emit(buf, "%u\n", h.abi_version);
}

static ssize_t host_features_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%x\n", pvx_host_features());
}

/* PROBE's epoch: changes when the host's state of this VM is new. */
static ssize_t host_epoch_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	struct pvx_host h;

	pvx_host_snapshot(&h);
	return sysfs_emit(buf, "0x%x\n", h.epoch);
}

/* "pvx" when PROBE succeeded, "no-pvx" when every feature falls back. */
static ssize_t host_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(pvx_host.host_pvx) ?
			  "pvx" : "no-pvx");
}

/* reprobe (root only): "1" PROBEs the host again, anything else -EINVAL. */
static ssize_t reprobe_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	int ret;

	if (!sysfs_streq(buf, "1"))
		return -EINVAL;
	ret = pvx_reprobe();
	return ret ? ret : count;
}

static struct kobj_attribute abi_version_attr = __ATTR_RO(abi_version);
static struct kobj_attribute host_abi_version_attr = __ATTR_RO(host_abi_version);
static struct kobj_attribute host_features_attr = __ATTR_RO(host_features);
static struct kobj_attribute host_attr = __ATTR_RO(host);
static struct kobj_attribute host_epoch_attr = __ATTR_RO(host_epoch);
static struct kobj_attribute reprobe_attr = __ATTR_WO(reprobe);

static struct attribute *pvx_top_attrs[] = {
	&abi_version_attr.attr,
	&host_abi_version_attr.attr,
	&host_features_attr.attr,
	&host_attr.attr,
	&host_epoch_attr.attr,
	&reprobe_attr.attr,
	NULL
};

static const struct attribute_group pvx_top_group = {
	.attrs = pvx_top_attrs,
};

/* features/<name>: "available" or "unsupported by host". */
struct pvx_feature_attr {
	struct kobj_attribute kattr;
	u32 bit;
};

static ssize_t feature_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	struct pvx_feature_attr *fa =
		container_of(attr, struct pvx_feature_attr, kattr);

	return sysfs_emit(buf, "%s\n", pvx_host_has(fa->bit) ?
			  "available" : "unsupported by host");
}

#define PVX_FEATURE_ATTR(_name, _bit)					\
	static struct pvx_feature_attr feature_##_name##_attr = {	\
		.kattr = __ATTR(_name, 0444, feature_show, NULL),	\
		.bit = (_bit),						\
	}

PVX_FEATURE_ATTR(yield, PVX_F_YIELD);
PVX_FEATURE_ATTR(numa_hint, PVX_F_NUMA_HINT);
PVX_FEATURE_ATTR(fork_copy, PVX_F_FORK_COPY);
PVX_FEATURE_ATTR(ksm_hint, PVX_F_KSM_HINT);

static struct attribute *pvx_feature_attrs[] = {
	&feature_yield_attr.kattr.attr,
	&feature_numa_hint_attr.kattr.attr,
	&feature_fork_copy_attr.kattr.attr,
	&feature_ksm_hint_attr.kattr.attr,
	NULL
};

static const struct attribute_group pvx_feature_group = {
	.name = "features",
	.attrs = pvx_feature_attrs,
};

/* stats/<counter>: sums of the per-CPU counters. */
struct pvx_stat_attr {
	struct kobj_attribute kattr;
	enum pvx_stat stat;
};

static ssize_t stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct pvx_stat_attr *sa =
		container_of(attr, struct pvx_stat_attr, kattr);
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(pvx_stats, cpu).n[sa->stat];
	return sysfs_emit(buf, "%llu\n", sum);
}

#define PVX_STAT_ATTR(_name, _stat)					\
	static struct pvx_stat_attr stat_##_name##_attr = {		\
		.kattr = __ATTR(_name, 0444, stat_show, NULL),		\
		.stat = (_stat),					\
	}

PVX_STAT_ATTR(hypercalls, PVX_STAT_HYPERCALLS);
PVX_STAT_ATTR(errors, PVX_STAT_ERRORS);
PVX_STAT_ATTR(refused, PVX_STAT_REFUSED);
PVX_STAT_ATTR(periodic_probes, PVX_STAT_PERIODIC_PROBES);
PVX_STAT_ATTR(host_changes, PVX_STAT_HOST_CHANGES);

static struct attribute *pvx_stat_attrs[] = {
	&stat_hypercalls_attr.kattr.attr,
	&stat_errors_attr.kattr.attr,
	&stat_refused_attr.kattr.attr,
	&stat_periodic_probes_attr.kattr.attr,
	&stat_host_changes_attr.kattr.attr,
	NULL
};

static const struct attribute_group pvx_stat_group = {
	.name = "stats",
	.attrs = pvx_stat_attrs,
};

static const struct attribute_group *pvx_groups[] = {
	&pvx_top_group,
	&pvx_feature_group,
	&pvx_stat_group,
	NULL
};

int pvx_sysfs_add_group(const struct attribute_group *grp)
{
	if (!grp || !grp->name)
		return -EINVAL;
	return sysfs_create_group(pvx_kobj, grp);
}
EXPORT_SYMBOL_GPL(pvx_sysfs_add_group);

void pvx_sysfs_remove_group(const struct attribute_group *grp)
{
	if (grp && grp->name)
		sysfs_remove_group(pvx_kobj, grp);
}
EXPORT_SYMBOL_GPL(pvx_sysfs_remove_group);

int pvx_sysfs_init(void)
{
	int ret;

	pvx_kobj = kobject_create_and_add("pvx", kernel_kobj);
	if (!pvx_kobj) {
		pr_err("cannot create /sys/kernel/pvx\n");
		return -ENOMEM;
	}
	ret = sysfs_create_groups(pvx_kobj, pvx_groups);
	if (ret) {
		pr_err("cannot create /sys/kernel/pvx attributes: %d\n", ret);
		kobject_put(pvx_kobj);
		pvx_kobj = NULL;
	}
	return ret;
}

void pvx_sysfs_exit(void)
{
	sysfs_remove_groups(pvx_kobj, pvx_groups);
	kobject_put(pvx_kobj);
	pvx_kobj = NULL;
}
